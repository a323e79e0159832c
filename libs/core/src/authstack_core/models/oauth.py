"""OAuth records: provider settings, the flow state, codes, linked accounts and profiles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from authstack_core.models.config import ProjectConfig

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

    @property
    def is_generic_oidc(self) -> bool:
        return self.type == GENERIC_OIDC_TYPE or self.issuer_url is not None


def _text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def provider_config(config: ProjectConfig, provider_id: str) -> ProviderConfig | None:
    """The provider ``provider_id`` names in ``config``, or None when there is none."""
    auth = config.raw.get("auth")
    oauth = auth.get("oauth") if isinstance(auth, dict) else None
    providers = oauth.get("providers") if isinstance(oauth, dict) else None
    entry = providers.get(provider_id) if isinstance(providers, dict) else None
    if not isinstance(entry, dict):
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
    id: uuid.UUID
    user_id: uuid.UUID
    provider_config_id: str
    provider_account_id: str
    email: str | None
    allow_sign_in: bool
    allow_connected_accounts: bool
