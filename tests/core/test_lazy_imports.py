"""The API process leaves optional heavy packages unloaded until a feature needs them: each costs
megabytes of every replica's RSS (the memory goal in bench/memory_bench.py) while most
deployments never use it."""

from __future__ import annotations

import subprocess
import sys

# Package -> what brings it in: Svix mode or a webhook send, S3 storage, sign-up rules, images.
LAZY = ("svix", "boto3", "botocore", "cel", "typer", "prompt_toolkit", "PIL")

PROBE = """
import sys
from authstack_api.app import discover_routes
discover_routes()  # imports every route module, and the domain behind them
print(",".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_api_imports_no_optional_heavy_package() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(out.stdout.strip().split(","))
    assert "authstack_api" in loaded
    assert loaded.isdisjoint(LAZY), sorted(loaded & set(LAZY))


def test_webhook_signing_still_loads_svix_when_used() -> None:
    probe = (
        "import sys\n"
        "from authstack_core.webhook_transport import signed_headers\n"
        "h = signed_headers('whsec_' + 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', b'{}')\n"
        "print(h['webhook-signature'].startswith('v1,'), 'svix' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["True", "True"]
