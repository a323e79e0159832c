"""The config override API (contract §1.5): the rendered config, each level's override, and the
branch level's source.

Access as upstream: the rendered config, the source and resetting keys need admin access; a level's
override may also be managed with a server key, but only on the branch level (403 otherwise).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Response, delete, get, patch, post, put
from msgspec import UNSET, UnsetType

from authstack_api.auth import AdminAuth, Auth, ServerAuth
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import Strict
from authstack_core.domain import config_overrides
from authstack_core.domain.context import Deps
from authstack_core.errors import ServerAccessBranchOnly

LevelName = Literal["project", "branch", "environment"]
OVERRIDE = "/api/v1/internal/config/override/{level:str}"


class GithubSource(Strict, tag="pushed-from-github", tag_field="type"):
    owner: str
    repo: str
    branch: str
    commit_hash: str
    config_file_path: str


class UnknownSource(Strict, tag="pushed-from-unknown", tag_field="type"):
    pass


class UnlinkedSource(Strict, tag="unlinked", tag_field="type"):
    pass


class ReplaceBody(Strict):
    config_string: str
    # Required for the branch level (where the pushed config came from); ignored elsewhere.
    source: GithubSource | UnknownSource | UnlinkedSource | UnsetType = UNSET


class MergeBody(Strict):
    config_override_string: str


class ResetKeysBody(Strict):
    keys: list[str]


def _config_string(config: dict[str, Any]) -> dict[str, str]:
    return {"config_string": msgspec.json.encode(config).decode()}


def _managed_level(auth: Auth, level: LevelName) -> LevelName:
    if auth.type == "server" and level != "branch":
        raise ServerAccessBranchOnly()
    return level


@get("/api/v1/internal/config")
async def get_config(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    config = config_overrides.shown(deps, auth.project, auth.project.config.raw)
    return json_response(_config_string(config))


@get("/api/v1/internal/config/source")
async def get_source(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    return json_response({"source": await config_overrides.read_source(deps, auth.project)})


@delete("/api/v1/internal/config/source", status_code=200)
async def unlink_source(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    await config_overrides.unlink_source(deps, auth.project)
    return json_response(SUCCESS)


@get(OVERRIDE)
async def get_override(auth: ServerAuth, deps: Deps, level: LevelName) -> Response[bytes]:
    override = auth.project.config_levels().of(_managed_level(auth, level))
    return json_response(_config_string(config_overrides.shown(deps, auth.project, override)))


@put(OVERRIDE)
async def replace_override(
    auth: ServerAuth, deps: Deps, level: LevelName, data: ReplaceBody
) -> Response[bytes]:
    source = None if isinstance(data.source, UnsetType) else msgspec.to_builtins(data.source)
    await config_overrides.replace_level(
        deps,
        auth.project,
        _managed_level(auth, level),
        data.config_string,
        source,
        actor=auth.actor,
    )
    return json_response(SUCCESS)


@patch(OVERRIDE)
async def merge_override(
    auth: ServerAuth, deps: Deps, level: LevelName, data: MergeBody
) -> Response[bytes]:
    await config_overrides.merge_into_level(
        deps,
        auth.project,
        _managed_level(auth, level),
        data.config_override_string,
        actor=auth.actor,
    )
    return json_response(SUCCESS)


@post(OVERRIDE + "/reset-keys", status_code=200)
async def reset_override_keys(
    auth: AdminAuth, deps: Deps, level: Literal["branch", "environment"], data: ResetKeysBody
) -> Response[bytes]:
    await config_overrides.reset_level_keys(deps, auth.project, level, data.keys, actor=auth.actor)
    return json_response(SUCCESS)
