"""The SDK's housekeeping calls: which SDK versions this server speaks to, and feature probes."""

from __future__ import annotations

from typing import Any

import semver
from litestar import Response, post

from authstack_api.responses import json_response, text_response
from authstack_api.schemas import Strict

# The SDK line this server implements and tests (tests/e2e/sdk/package.json pins versions of it).
SDK_LINE = (2, 8)
# Below this the SDK's own server calls it severely outdated (a security floor of its releases).
SDK_FLOOR = semver.Version(2, 8, 57)


class CheckVersionBody(Strict):
    clientVersion: str  # noqa: N815 (the SDK's field name)


def version_verdict(client_version: str) -> dict[str, Any]:
    """``{upToDate: true}``, or ``{upToDate: false, error, severe}`` saying why not."""
    try:
        version = semver.Version.parse(client_version)
    except ValueError:
        return _outdated(
            True, f"The client version you sent (v{client_version}) is not a valid semver version."
        )
    line = f"{SDK_LINE[0]}.{SDK_LINE[1]}"
    if (version.major, version.minor) > SDK_LINE:
        return _outdated(
            False,
            f"This server speaks the Stack Auth SDK {line}.x API; v{client_version} is newer and"
            " has not been tested against it.",
        )
    if (version.major, version.minor) < SDK_LINE or version < SDK_FLOOR:
        return _outdated(
            True,
            f"Your Stack Auth SDK (v{client_version}) is severely outdated: update it to"
            f" {line}.x (at least v{SDK_FLOOR}) to get security fixes.",
        )
    return {"upToDate": True}


def _outdated(severe: bool, error: str) -> dict[str, Any]:
    return {"upToDate": False, "error": error, "severe": severe}


@post("/api/v1/check-version", status_code=200)
async def check_version(data: CheckVersionBody) -> Response[bytes]:
    """Tell the SDK whether its version is one this server supports."""
    return json_response(version_verdict(data.clientVersion))


@post("/api/v1/check-feature-support", status_code=200)
async def check_feature_support(data: Any = None) -> Response[bytes]:
    """The SDK reports a feature it found unsupported; it only wants a text answer."""
    name = data.get("feature_name") if isinstance(data, dict) else None
    feature = name if isinstance(name, str) and name else "This feature"
    return text_response(f"{feature[:200]} is not yet supported.")
