"""A project's OAuth providers, on its Settings page: each with its keys (this deployment's shared
ones, or the project's own), switched on or off for sign-in, a built-in one added, any OpenID
Connect provider added by its issuer URL, one removed.

Written through the config API at the environment level, where the legacy config keeps the
providers too (``auth.oauth.providers.<id>``, contract §10).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from authstack_dashboard.web import SLUG, Ctx, FormError, form_routes, page, slug_param

BUILTIN = {
    "github": "GitHub", "google": "Google", "microsoft": "Microsoft", "discord": "Discord",
    "gitlab": "GitLab", "bitbucket": "Bitbucket", "linkedin": "LinkedIn", "spotify": "Spotify",
    "twitch": "Twitch", "x": "X", "facebook": "Facebook", "apple": "Apple",
}  # fmt: skip
GENERIC = "custom_oidc"
PROVIDERS = "auth.oauth.providers"
OVERRIDE = "/internal/config/override/environment"
# Settings only some providers have: (form field, config key, label, the provider type).
EXTRAS = (
    ("facebook_config_id", "facebookConfigId", "Facebook configuration id", "facebook"),
    ("microsoft_tenant_id", "microsoftTenantId", "Microsoft tenant id", "microsoft"),
    ("apple_bundle_ids", "appleBundles", "Apple bundle ids (native apps), one per line", "apple"),
)


@dataclass(frozen=True)
class ProviderView:
    """One provider entry, as the Settings page shows it."""

    id: str
    type: str
    label: str
    shared: bool
    enabled: bool
    client_id: str
    issuer_url: str
    extras: dict[str, str]
    callback_url: str


def _bundles(value: Any) -> str:
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    found = (i.get("bundleId") if isinstance(i, dict) else i for i in items)
    return "\n".join(i for i in found if isinstance(i, str))


def provider_views(config: dict[str, Any], api_url: str) -> list[ProviderView]:
    """The rendered config's providers, by id; ``api_url`` is where apps reach the API."""
    entries = ((config.get("auth") or {}).get("oauth") or {}).get("providers") or {}
    views = []
    for provider_id, entry in sorted(entries.items()):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("type") or (GENERIC if entry.get("issuerUrl") else provider_id))
        extras = {field: str(entry.get(key) or "") for field, key, _, t in EXTRAS if t == kind}
        if "apple_bundle_ids" in extras:
            extras["apple_bundle_ids"] = _bundles(entry.get("appleBundles"))
        views.append(
            ProviderView(
                id=provider_id,
                type=kind,
                label=BUILTIN.get(kind, f"OpenID Connect ({provider_id})"),
                shared=kind != GENERIC and entry.get("isShared", True) is not False,
                enabled=entry.get("allowSignIn") is True,
                client_id=str(entry.get("clientId") or ""),
                issuer_url=str(entry.get("issuerUrl") or ""),
                extras=extras,
                callback_url=f"{api_url}/api/v1/auth/oauth/callback/{provider_id}",
            )
        )
    return views


def _here(ctx: Ctx) -> str:
    return f"/projects/{ctx.project_id}/settings"


def _provider_id(ctx: Ctx) -> str:
    return slug_param(ctx.request, "provider_id", "OAuth provider")


async def _rendered_entry(ctx: Ctx, provider_id: str) -> dict[str, Any] | None:
    rendered = await ctx.admin("GET", "/internal/config", ctx.project_id)
    config = json.loads(rendered["config_string"])
    entry = (((config.get("auth") or {}).get("oauth") or {}).get("providers") or {}).get(
        provider_id
    )
    return entry if isinstance(entry, dict) else None


async def _merge(ctx: Ctx, override: dict[str, Any], message: str) -> Response:
    body = {"config_override_string": json.dumps(override)}
    await ctx.admin("PATCH", OVERRIDE, ctx.project_id, json_body=body)
    return ctx.redirect(_here(ctx), message)


def _keys(ctx: Ctx, kind: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The keys part of an entry from the form: shared, or own (a blank secret keeps the stored
    one); with the settings only ``kind`` has."""
    form, here = ctx.form, _here(ctx)
    keys: dict[str, Any] = {"isShared": form.get("keys") != "own"}
    if not keys["isShared"]:
        keys["clientId"] = form.get("client_id").strip()
        keys["clientSecret"] = form.get("client_secret").strip() or (stored or {}).get(
            "clientSecret", ""
        )
        if not (keys["clientId"] and keys["clientSecret"]):
            raise FormError("Your own keys need a client id and a client secret.", here)
    for field, key, _, provider_type in EXTRAS:
        value = form.get(field).strip()
        if provider_type == kind and value:
            keys[key] = value.split() if field == "apple_bundle_ids" else value
    return keys


@page
async def add_builtin(ctx: Ctx) -> Response:
    kind = ctx.form.get("provider")
    if kind not in BUILTIN:
        raise FormError("Choose one of the built-in providers.", _here(ctx))
    entry = {"type": kind, "allowSignIn": True, "allowConnectedAccounts": True}
    entry.update(_keys(ctx, kind, None))
    return await _merge(ctx, {f"{PROVIDERS}.{kind}": entry}, f"{BUILTIN[kind]} sign-in enabled.")


@page
async def add_oidc(ctx: Ctx) -> Response:
    form, here = ctx.form, _here(ctx)
    provider_id = form.get("provider_id").strip().lower()
    if not SLUG.match(provider_id) or provider_id in BUILTIN:
        raise FormError(
            "The provider id is lowercase letters, digits, - and _ (such as acme-sso), and not "
            "the name of a built-in provider.",
            here,
        )
    issuer_url = form.get("issuer_url").strip().rstrip("/")
    if not issuer_url.startswith(("https://", "http://")):
        raise FormError("The issuer URL is the provider's https:// address.", here)
    entry = {"type": GENERIC, "issuerUrl": issuer_url, "allowSignIn": True,
             "allowConnectedAccounts": True, **_keys(ctx, GENERIC, None)}  # fmt: skip
    entry["isShared"] = False  # a provider of the project's own: never the shared keys
    message = f"OpenID Connect provider {provider_id} added."
    return await _merge(ctx, {f"{PROVIDERS}.{provider_id}": entry}, message)


@page
async def update_keys(ctx: Ctx) -> Response:
    provider_id = _provider_id(ctx)
    stored = await _rendered_entry(ctx, provider_id)
    if stored is None:
        raise FormError(f"The project has no provider {provider_id}.", _here(ctx))
    kind = str(stored.get("type") or (GENERIC if stored.get("issuerUrl") else provider_id))
    kept = ("type", "issuerUrl", "allowSignIn", "allowConnectedAccounts")
    entry = {k: stored[k] for k in kept if k in stored}
    entry.update(_keys(ctx, kind, stored))
    if kind == GENERIC:
        entry["isShared"] = False
    return await _merge(ctx, {f"{PROVIDERS}.{provider_id}": entry}, f"Keys of {provider_id} saved.")


@page
async def toggle(ctx: Ctx) -> Response:
    provider_id = _provider_id(ctx)
    enable = ctx.form.get("enable") == "true"
    message = f"{provider_id} sign-in {'enabled' if enable else 'disabled'}."
    return await _merge(ctx, {f"{PROVIDERS}.{provider_id}.allowSignIn": enable}, message)


@page
async def remove(ctx: Ctx) -> Response:
    provider_id = _provider_id(ctx)
    body = {"keys": [f"{PROVIDERS}.{provider_id}"]}
    await ctx.admin("POST", OVERRIDE + "/reset-keys", ctx.project_id, json_body=body)
    return ctx.redirect(_here(ctx), f"{provider_id} removed.")


routes = form_routes(
    "/projects/{project_id}/settings/oauth",
    {
        "/add": add_builtin,
        "/add-oidc": add_oidc,
        "/{provider_id}/keys": update_keys,
        "/{provider_id}/toggle": toggle,
        "/{provider_id}/remove": remove,
    },
)
