"""Projects for their administrators: the internal user's list/create, and the current project."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, delete, get, patch, post

from authstack_api.auth import AdminAuth, AnyAuth, Auth
from authstack_api.ids import check_uuid
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import LegacyProjectConfig, ProjectCreate, ProjectTransfer, ProjectUpdate
from authstack_core.domain import projects
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    AnonymousAuthenticationNotAllowed,
    ExpectedInternalProject,
    RestrictedUserNotAllowed,
    SchemaError,
    UserAuthenticationRequired,
)
from authstack_core.models.oauth import BUILTIN_PROVIDER_TYPES
from authstack_core.urls import parse_web_url

_EMAIL_FIELDS = ("host", "port", "username", "password", "sender_name", "sender_email")


def _internal_user(auth: Auth) -> str:
    """The signed-in user of an internal-project request (the `int-user` access of §1.5)."""
    if auth.project.id != projects.INTERNAL_PROJECT_ID:
        raise ExpectedInternalProject()
    if auth.user is None:
        raise UserAuthenticationRequired()
    return auth.user.user_id


def _full_internal_user(auth: Auth) -> str:
    """An internal user who may own projects: neither anonymous nor restricted.

    The SDK sends ``x-stack-allow-anonymous-user`` on every request, so request authentication
    lets such users through; an anonymous visitor of the dashboard must still not create projects.
    """
    user_id = _internal_user(auth)
    assert auth.user is not None
    if auth.user.is_anonymous:
        raise AnonymousAuthenticationNotAllowed("Anonymous users cannot create projects.")
    if auth.user.is_restricted:
        raise RestrictedUserNotAllowed(
            "Restricted users cannot create projects.",
            restricted_reason=auth.user.restricted_reason,
        )
    return user_id


def _check_domain(base_url: str) -> None:
    """A trusted domain must be an http(s) URL that a browser reads as written (see urls.py)."""
    url = parse_web_url(base_url)
    if url is None or url.scheme not in ("http", "https") or url.host_kind == "none":
        raise SchemaError(message=f"config.domains: {base_url!r} is not a valid http(s) URL")
    if url.has_credentials:
        raise SchemaError(message=f"config.domains: {base_url!r} must not carry credentials")


def _config(data: ProjectUpdate) -> LegacyProjectConfig | None:
    return None if isinstance(data.config, msgspec.UnsetType) else data.config


def _check_oauth_provider(provider: dict[str, Any]) -> None:
    """A built-in provider by its type, or a generic OpenID Connect one (own keys) by issuer."""
    generic = provider.get("issuer_url") is not None
    if generic == (provider["id"] in BUILTIN_PROVIDER_TYPES):
        raise SchemaError(
            message=f"config.oauth_providers: {provider['id']} must be one of "
            f"{', '.join(BUILTIN_PROVIDER_TYPES)}, or another id with an issuer_url (a generic "
            "OpenID Connect provider)"
        )
    if generic and provider["type"] != "standard":
        raise SchemaError(
            message=f"config.oauth_providers: {provider['id']} has an issuer_url, so it needs "
            "its own keys (type standard)"
        )


def _legacy(config: LegacyProjectConfig | None) -> dict[str, Any]:
    if config is None:
        return {}
    legacy: dict[str, Any] = msgspec.to_builtins(config)  # unset fields are left out
    email = legacy.get("email_config")
    if email is not None and email["type"] == "standard":
        missing = [f for f in _EMAIL_FIELDS if email.get(f) in (None, "")]
        if missing:
            raise SchemaError(
                message="config.email_config of type standard needs "
                + ", ".join(f"email_config.{f}" for f in missing)
            )
    for provider in legacy.get("oauth_providers", []):
        if provider["type"] == "standard" and not (
            provider.get("client_id") and provider.get("client_secret")
        ):
            raise SchemaError(
                message=f"OAuth provider {provider['id']} of type standard needs client_id "
                "and client_secret"
            )
        _check_oauth_provider(provider)
    for domain in legacy.get("domains", []):
        _check_domain(domain["domain"])
    ids = [p["id"] for p in legacy.get("oauth_providers", [])]
    if len(ids) != len(set(ids)):
        raise SchemaError(message="config.oauth_providers lists a provider twice")
    return legacy


@get("/api/v1/internal/projects")
async def list_projects(auth: AnyAuth, deps: Deps) -> Response[bytes]:
    rows = await projects.list_owned_projects(deps, _internal_user(auth))
    return json_response({"items": [r.admin_json() for r in rows], "is_paginated": False})


@post("/api/v1/internal/projects", status_code=201)
async def create_project(auth: AnyAuth, deps: Deps, data: ProjectCreate) -> Response[bytes]:
    user_id = _full_internal_user(auth)
    row = await projects.create_project(
        deps,
        user_id,
        owner_team_id=check_uuid(data.owner_team_id, "owner_team_id"),
        details=data,
        is_development_environment=data.is_development_environment,
        legacy=_legacy(_config(data)),
    )
    return json_response(row.admin_json(), status=201)


@post("/api/v1/internal/projects/transfer", status_code=200)
async def transfer_project(auth: AnyAuth, deps: Deps, data: ProjectTransfer) -> Response[bytes]:
    """Move a project to another internal team: the caller must be ``team_admin`` of the current
    owner team and a member of the new one."""
    # Upstream's request schema asks for the internal project and a user: both are its shape.
    problems = []
    if auth.project.id != projects.INTERNAL_PROJECT_ID:
        problems.append("auth.project.id must be one of the following values: internal")
    if auth.user is None:
        problems.append("auth.user must be defined")
    if problems:
        raise SchemaError(message="\n".join(problems))
    user_id = _full_internal_user(auth)
    internal = auth.project
    await projects.transfer_project(
        deps, internal, user_id, data.project_id, check_uuid(data.new_team_id, "new_team_id")
    )
    return json_response({"success": "true"})  # a string, as upstream answers


@get("/api/v1/internal/projects/current")
async def get_current(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    row = await projects.get_project(deps, auth.project)
    return json_response(row.admin_json())


@patch("/api/v1/internal/projects/current")
async def update_current(auth: AdminAuth, deps: Deps, data: ProjectUpdate) -> Response[bytes]:
    row = await projects.update_project(
        deps, auth.project, data, _legacy(_config(data)), actor=auth.actor
    )
    return json_response(row.admin_json())


@delete("/api/v1/internal/projects/current", status_code=200)
async def delete_current(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    await projects.delete_project(deps, auth.project.id)
    return json_response(SUCCESS)
