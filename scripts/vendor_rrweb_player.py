"""Vendor rrweb's session replay player into the dashboard's static files (no CDN at run time).

    uv run python scripts/vendor_rrweb_player.py

Fetches the pinned npm package with ``npm pack`` (the ordinary npm client), checks the tarball
against the pinned integrity, and copies its browser build and stylesheet to
services/dashboard/src/authstack_dashboard/static/vendor/rrweb-player/ with a MANIFEST.json
(package, version, integrity, sha256 of each file) that tests/dashboard checks. Bump the pin
here and run it again to upgrade; commit the result.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "rrweb-player"
VERSION = "2.1.7"
INTEGRITY = (
    "sha512-jY6ovTq+Ll9nh8s0WEUl9abNKY9UQO524lFShaoSakQsGooYUGvzxg0xFWEQn7q"
    "Y4rP5Q5BSRV0vbtRW35+o6A=="
)
# File in the package -> name in static/vendor/rrweb-player/.
FILES = {
    "package/umd/rrweb-player.min.js": "rrweb-player.min.js",
    "package/dist/style.min.css": "rrweb-player.min.css",
}
TARGET = (
    Path(__file__).resolve().parents[1]
    / "services/dashboard/src/authstack_dashboard/static/vendor/rrweb-player"
)


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vendor-rrweb-") as tmp:
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        [tarball] = Path(tmp).glob("*.tgz")
        data = tarball.read_bytes()
        if sri(data) != INTEGRITY:
            print(f"{tarball.name}: integrity {sri(data)} is not the pinned one", file=sys.stderr)
            return 1
        TARGET.mkdir(parents=True, exist_ok=True)
        digests = {}
        with tarfile.open(tarball) as archive:
            for member, name in FILES.items():
                extracted = archive.extractfile(member)
                if extracted is None:
                    print(f"{member} missing from {tarball.name}", file=sys.stderr)
                    return 1
                content = extracted.read()
                (TARGET / name).write_bytes(content)
                digests[name] = hashlib.sha256(content).hexdigest()
    manifest = {
        "package": PACKAGE,
        "version": VERSION,
        "integrity": INTEGRITY,
        "license": "MIT",
        "sha256": digests,
    }
    (TARGET / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {PACKAGE}@{VERSION} into {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
