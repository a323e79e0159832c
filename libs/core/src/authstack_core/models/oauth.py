"""OAuth records: provider settings, the flow state, codes, linked accounts and profiles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.config import ProjectConfig
from authstack_core.models.shapes import Audience

# The built-in providers (contract §11: each reads STACK_<TYPE>_CLIENT_ID / _CLIENT_SECRET).
BUILTIN_PROVIDER_TYPES = (
    "github", "google", "microsoft", "discord", "gitlab", "bitbucket",
    "linkedin", "spotify", "twitch", "x", "facebook", "apple",
)  # fmt: skip
# The type of a provider discovered from its issuer URL (any OpenID Connect provider).
GENERIC_OIDC_TYPE = "custom_oidc"

FlowType = Literal["authenticate", "link"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One entry of ``auth.oauth.providers`` (contract §10), as the flow reads it.

    ``id`` is the entry's key: what the authorize and callback paths name. Shared keys come from
    the operator (``STACK_<TYPE>_CLIENT_ID``); own keys and the issuer URL of a generic OpenID
    Connect provider from the project.
    """

    id: str
    type: str
    is_shared: bool
    allow_sign_in: bool
    allow_connected_accounts: bool
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    issuer_url: str | None = None
    facebook_config_id: str | None = None
    microsoft_tenant_id: str | None = None
    apple_bundle_ids: tuple[str, ...] = ()

    @property
    def is_generic_oidc(self) -> bool:
        return self.type == GENERIC_OIDC_TYPE or self.issuer_url is not None


def _text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def bundle_ids(value: object) -> tuple[str, ...]:
    """The bundle ids of ``appleBundles``: a list of ids (as the legacy config writes it), or
    upstream's map of ``{bundleId}`` objects (as its config file has it)."""
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list):
        return ()
    found = (i.get("bundleId") if isinstance(i, dict) else i for i in items)
    return tuple(dict.fromkeys(i for i in found if isinstance(i, str) and i))


def _entry(config: ProjectConfig, provider_id: str) -> dict[str, Any] | None:
    auth = config.raw.get("auth")
    oauth = auth.get("oauth") if isinstance(auth, dict) else None
    providers = oauth.get("providers") if isinstance(oauth, dict) else None
    entry = providers.get(provider_id) if isinstance(providers, dict) else None
    return entry if isinstance(entry, dict) else None


def provider_type_of(config: ProjectConfig, provider_id: str) -> str | None:
    """The type of the provider a linked account names: its entry's, else the id itself when it
    is a built-in type (an account outlives its provider's entry, as upstream's does), else None."""
    entry = _entry(config, provider_id)
    if entry is not None:
        return _text(entry, "type") or (GENERIC_OIDC_TYPE if _text(entry, "issuerUrl") else None)
    return provider_id if provider_id in BUILTIN_PROVIDER_TYPES else None


def provider_config(config: ProjectConfig, provider_id: str) -> ProviderConfig | None:
    """The provider ``provider_id`` names in ``config``, or None when there is none."""
    entry = _entry(config, provider_id)
    if entry is None:
        return None
    issuer_url = _text(entry, "issuerUrl")
    provider_type = _text(entry, "type") or (GENERIC_OIDC_TYPE if issuer_url else provider_id)
    return ProviderConfig(
        id=provider_id,
        type=provider_type,
        is_shared=entry.get("isShared", True) is not False and issuer_url is None,
        allow_sign_in=entry.get("allowSignIn") is True,
        allow_connected_accounts=entry.get("allowConnectedAccounts") is True,
        client_id=_text(entry, "clientId"),
        client_secret=_text(entry, "clientSecret"),
        issuer_url=issuer_url,
        facebook_config_id=_text(entry, "facebookConfigId"),
        microsoft_tenant_id=_text(entry, "microsoftTenantId"),
        apple_bundle_ids=bundle_ids(entry.get("appleBundles")),
    )


def merge_strategy(config: ProjectConfig) -> str:
    """``auth.oauth.accountMergeStrategy``: link_method (default), raise_error, allow_duplicates."""
    auth = config.raw.get("auth")
    oauth = auth.get("oauth") if isinstance(auth, dict) else None
    value = oauth.get("accountMergeStrategy") if isinstance(oauth, dict) else None
    return value if value in ("raise_error", "allow_duplicates") else "link_method"


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """Who the provider says signed in. ``account_id`` is the provider's stable id for them."""

    account_id: str
    email: str | None
    email_verified: bool
    display_name: str | None
    profile_image_url: str | None


@dataclass(frozen=True, slots=True)
class ProviderTokens:
    """The provider's tokens for that account (stored sealed, never in the clear)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    access_token_expires_at: datetime
    scopes: tuple[str, ...]


@dataclass(slots=True)
class OuterInfoRow:
    """A flow between authorize and callback: what the app asked for, and the inner PKCE."""

    tenancy_id: uuid.UUID
    project_id: str
    branch_id: str
    provider_config_id: str
    flow_type: FlowType
    user_id: uuid.UUID | None
    redirect_uri: str
    outer_state: str
    code_challenge: str
    error_redirect_url: str | None
    after_callback_redirect_url: str | None
    provider_scope: str | None
    inner_code_verifier: str = field(repr=False)
    nonce: str = field(repr=False)
    cookie_required: bool
    expires_at: datetime


@dataclass(slots=True)
class AuthorizationCodeRow:
    user_id: uuid.UUID
    redirect_uri: str
    code_challenge: str
    is_new_user: bool
    after_callback_redirect_url: str | None
    expires_at: datetime


@dataclass(slots=True)
class OAuthAccountRow:
    """A provider account linked to a user (contract §1.4, ``/oauth-providers``)."""

    id: uuid.UUID
    user_id: uuid.UUID
    provider_config_id: str
    provider_account_id: str
    email: str | None
    allow_sign_in: bool
    allow_connected_accounts: bool

    def json(self, audience: Audience, provider_type: str) -> dict[str, Any]:
        """The account as ``audience`` reads it; a server also sees the provider's account id."""
        out: dict[str, Any] = {"user_id": str(self.user_id), "id": str(self.id)}
        if self.email is not None:
            out["email"] = self.email
        out.update(
            provider_config_id=self.provider_config_id,
            type=provider_type,
            allow_sign_in=self.allow_sign_in,
            allow_connected_accounts=self.allow_connected_accounts,
        )
        if audience != "client":
            out["account_id"] = self.provider_account_id
        return out

    def connected_json(self) -> dict[str, str]:
        """The account as ``/connected-accounts`` lists it."""
        return {
            "user_id": str(self.user_id),
            "provider": self.provider_config_id,
            "provider_account_id": self.provider_account_id,
        }


@dataclass(frozen=True, slots=True)
class NewOAuthAccount:
    """A provider account linked by the API rather than by a sign-in (no provider tokens)."""

    provider_config_id: str
    provider_account_id: str
    email: str | None
    allow_sign_in: bool
    allow_connected_accounts: bool


class OAuthAccountChanges(msgspec.Struct, kw_only=True):
    """A linked-account PATCH; UNSET leaves a field as is (a client may send the flags only)."""

    allow_sign_in: bool | UnsetType = UNSET
    allow_connected_accounts: bool | UnsetType = UNSET
    email: str | UnsetType = UNSET
    account_id: str | UnsetType = UNSET


@dataclass(slots=True)
class StoredProviderToken:
    """A provider token of a linked account, still sealed."""

    id: uuid.UUID
    oauth_account_id: uuid.UUID
    token_sealed: bytes = field(repr=False)
    scopes: list[str]
