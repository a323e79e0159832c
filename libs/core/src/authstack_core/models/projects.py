"""Project records."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.config import ProjectConfig
from authstack_core.models.config_schema import ConfigLevels
from authstack_core.models.images import MAX_DATA_URL_CHARS
from authstack_core.models.oauth import GENERIC_OIDC_TYPE, bundle_ids


@dataclass(slots=True)
class ProjectColumns:
    """The columns of the ``projects`` row every project record carries."""

    id: str
    display_name: str
    description: str
    is_production_mode: bool
    owner_team_id: uuid.UUID | None
    config_override: dict[str, Any]
    created_at: datetime
    # The config overrides of the tenancy's branch and environment levels (contract §10).
    branch_config_override: dict[str, Any]
    environment_config_override: dict[str, Any]

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PROJECT_COLUMNS}

    def config_levels(self) -> ConfigLevels:
        return ConfigLevels(
            self.config_override, self.branch_config_override, self.environment_config_override
        )


_PROJECT_COLUMNS = tuple(f.name for f in fields(ProjectColumns))


@dataclass(slots=True)
class ProjectRow(ProjectColumns):
    """A project with the tenancy of the branch asked for (None if it has none) and the hashes
    of its live keys: what request authentication reads."""

    tenancy_id: uuid.UUID | None
    publishable_client_key_hashes: list[bytes]
    secret_server_key_hashes: list[bytes]
    super_secret_admin_key_hashes: list[bytes]
    # Seconds until the first of those keys expires (None: none of them expires), so that a
    # cached copy is not used past that moment.
    keys_valid_for_seconds: float | None
    config: ProjectConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.config_levels().config()

    def tenant_project(self) -> TenantProject | None:
        """This project on its branch, or None when that branch has no tenancy."""
        if self.tenancy_id is None:
            return None
        return TenantProject(**self.columns(), tenancy_id=self.tenancy_id, config=self.config)


@dataclass(slots=True)
class TenantProject(ProjectColumns):
    """A project on one branch, with that branch's tenancy: what every authenticated request and
    every domain use case works in. Built at authentication, so past it a tenancy is never
    missing."""

    tenancy_id: uuid.UUID
    config: ProjectConfig


# Upstream's onboarding stages (projectOnboardingStatusValues); projects made through the API are
# "completed" unless they say otherwise.
OnboardingStatus = Literal[
    "config_choice",
    "apps_selection",
    "auth_setup",
    "domain_setup",
    "email_theme_setup",
    "payments_setup",
    "welcome",
    "completed",
]
LOGO_FIELDS = ("logo_url", "logo_full_url", "logo_dark_mode_url", "logo_full_dark_mode_url")


@dataclass(slots=True)
class AdminProjectRow(ProjectColumns):
    """A project as its administrators see it (``GET /internal/projects*``): with the columns
    request authentication leaves out (the logos can be data URLs of up to a megabyte each)."""

    logo_url: str | None
    logo_full_url: str | None
    logo_dark_mode_url: str | None
    logo_full_dark_mode_url: str | None
    is_development_environment: bool
    onboarding_status: str
    config: ProjectConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.config_levels().config()

    def admin_json(self) -> dict[str, Any]:
        """Upstream's admin read object (``projectsCrudAdminReadSchema``), nothing more."""
        return {
            "id": self.id,
            "display_name": self.display_name,
            "description": self.description,
            **{name: getattr(self, name) for name in LOGO_FIELDS},
            "created_at_millis": int(self.created_at.timestamp() * 1000),
            "is_production_mode": self.is_production_mode,
            "is_development_environment": self.is_development_environment,
            "owner_team_id": str(self.owner_team_id) if self.owner_team_id else None,
            "onboarding_status": self.onboarding_status,
            "config": legacy_config(self.config),
        }


# --- the legacy `config` object of the admin project (contract §10) ------------------------------
# Flat legacy booleans and the dot-path they are stored under.
LEGACY_FLAGS: dict[str, str] = {
    "sign_up_enabled": "auth.allowSignUp",
    "credential_enabled": "auth.password.allowSignIn",
    "magic_link_enabled": "auth.otp.allowSignIn",
    "passkey_enabled": "auth.passkey.allowSignIn",
    "allow_localhost": "domains.allowLocalhost",
    "client_team_creation_enabled": "teams.allowClientTeamCreation",
    "client_user_deletion_enabled": "users.allowClientUserDeletion",
    "allow_user_api_keys": "apiKeys.enabled.user",
    "allow_team_api_keys": "apiKeys.enabled.team",
    "create_team_on_sign_up": "teams.createPersonalTeamOnSignUp",
}
# Flags a legacy PATCH may set but the admin object does not show (upstream's read schema has
# neither; GET /internal/config shows them).
LEGACY_WRITE_ONLY_FLAGS: dict[str, str] = {
    "require_email_verification": "onboarding.requireEmailVerification",
    # authstack's own flag (Stack Auth has none): refuse passwords on the common-password list.
    "reject_common_passwords": "auth.password.rejectCommonPasswords",
}
LEGACY_PERMISSION_GROUPS: dict[str, str] = {
    "team_creator_default_permissions": "teamCreator",
    "team_member_default_permissions": "teamMember",
    "user_default_permissions": "signUp",
}
# Optional per-provider settings: the legacy wire name and the stored one.
LEGACY_OAUTH_EXTRAS: dict[str, str] = {
    "facebook_config_id": "facebookConfigId",
    "microsoft_tenant_id": "microsoftTenantId",
    "apple_bundle_ids": "appleBundles",
    "issuer_url": "issuerUrl",
}


def legacy_config(config: ProjectConfig) -> dict[str, Any]:
    """The rendered config in the legacy shape the admin project object carries."""
    out: dict[str, Any] = {name: bool(config._get(path)) for name, path in LEGACY_FLAGS.items()}
    providers = config._get("auth.oauth.providers") or {}
    oauth: list[dict[str, Any]] = []
    for provider_config_id, p in sorted(providers.items()):
        if not isinstance(p, dict):
            continue
        shared = p.get("isShared", True) is not False
        item: dict[str, Any] = {
            "provider_config_id": provider_config_id,
            # A generic OpenID Connect provider is known by its own id; a built-in one by type.
            "id": provider_config_id
            if p.get("type") == GENERIC_OIDC_TYPE
            else str(p.get("type") or provider_config_id),
            "type": "shared" if shared else "standard",
        }
        if not shared:
            item["client_id"] = p.get("clientId")
            item["client_secret"] = p.get("clientSecret")
        for wire, stored in LEGACY_OAUTH_EXTRAS.items():
            if p.get(stored) is not None:
                item[wire] = p[stored]
        if "apple_bundle_ids" in item:  # a list, whichever shape the config holds them in
            item["apple_bundle_ids"] = list(bundle_ids(item["apple_bundle_ids"]))
        oauth.append(item)
    out["oauth_providers"] = oauth
    out["enabled_oauth_providers"] = [{"id": pid} for pid in config.enabled_oauth_providers]
    out["domains"] = [
        {"domain": d.base_url, "handler_path": d.handler_path} for d in config.trusted_domains
    ]
    server = config._get("emails.server") or {}
    if not isinstance(server, dict) or server.get("isShared", True) is not False:
        out["email_config"] = {"type": "shared"}
    else:
        out["email_config"] = {
            "type": "standard",
            "host": server.get("host"),
            "port": server.get("port"),
            "username": server.get("username"),
            "password": server.get("password"),
            "sender_name": server.get("senderName"),
            "sender_email": server.get("senderEmail"),
        }
    out["email_theme"] = config.email_theme
    for name, group in LEGACY_PERMISSION_GROUPS.items():
        out[name] = [{"id": pid} for pid in config.default_permissions(group)]
    out["oauth_account_merge_strategy"] = (
        config._get("auth.oauth.accountMergeStrategy") or "link_method"
    )
    return out


def legacy_config_changes(legacy: dict[str, Any]) -> dict[str, Any]:
    """Dot-path overrides for a validated legacy ``config`` object (only the keys it sent).

    List-valued fields (OAuth providers, domains, permissions) replace their whole subtree.
    """
    changes: dict[str, Any] = {}
    for name, path in {**LEGACY_FLAGS, **LEGACY_WRITE_ONLY_FLAGS}.items():
        if name in legacy:
            changes[path] = bool(legacy[name])
    if "oauth_providers" in legacy:
        providers: dict[str, Any] = {}
        for p in legacy["oauth_providers"]:
            shared = p["type"] == "shared"
            entry: dict[str, Any] = {
                "type": GENERIC_OIDC_TYPE if p.get("issuer_url") else p["id"],
                "isShared": shared,
                "allowSignIn": True,
                "allowConnectedAccounts": True,
            }
            if not shared:
                entry["clientId"] = p.get("client_id")
                entry["clientSecret"] = p.get("client_secret")
            for wire, stored in LEGACY_OAUTH_EXTRAS.items():
                if p.get(wire) is not None:
                    entry[stored] = p[wire]
            providers[p["id"]] = entry
        changes["auth.oauth.providers"] = providers
    if "domains" in legacy:
        # Ids are derived from the URL so the same list always stores the same keys.
        changes["domains.trustedDomains"] = {
            hashlib.sha256(d["domain"].encode()).hexdigest()[:16]: {
                "baseUrl": d["domain"],
                "handlerPath": d["handler_path"],
            }
            for d in legacy["domains"]
        }
    if "email_config" in legacy:
        email = legacy["email_config"]
        if email["type"] == "shared":
            changes["emails.server"] = {"isShared": True}
        else:
            changes["emails.server"] = {
                "isShared": False,
                "provider": "smtp",
                "host": email.get("host"),
                "port": email.get("port"),
                "username": email.get("username"),
                "password": email.get("password"),
                "senderName": email.get("sender_name"),
                "senderEmail": email.get("sender_email"),
            }
    if "email_theme" in legacy:
        changes["emails.selectedThemeId"] = legacy["email_theme"]
    for name, group in LEGACY_PERMISSION_GROUPS.items():
        if name in legacy:
            changes[f"rbac.defaultPermissions.{group}"] = {p["id"]: True for p in legacy[name]}
    if "oauth_account_merge_strategy" in legacy:
        changes["auth.oauth.accountMergeStrategy"] = legacy["oauth_account_merge_strategy"]
    return changes


# A logo is an https URL or an image's data URL (the API checks which; a data URL's image is
# stored and the logo becomes its public URL), long enough for a 1 MB image in base64.
LogoUrl = Annotated[str, msgspec.Meta(max_length=MAX_DATA_URL_CHARS)]


class ProjectChanges(msgspec.Struct, kw_only=True):
    """A project PATCH's plain fields; UNSET keeps the stored value (a None description: "")."""

    display_name: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    is_production_mode: bool | UnsetType = UNSET
    logo_url: LogoUrl | None | UnsetType = UNSET
    logo_full_url: LogoUrl | None | UnsetType = UNSET
    logo_dark_mode_url: LogoUrl | None | UnsetType = UNSET
    logo_full_dark_mode_url: LogoUrl | None | UnsetType = UNSET
    onboarding_status: OnboardingStatus | UnsetType = UNSET

    def applied_to(self, row: AdminProjectRow) -> AdminProjectRow:
        """``row`` with the fields this PATCH sets (only these, whatever a subclass adds)."""
        changed = {
            name: getattr(self, name)
            for name in ProjectChanges.__struct_fields__
            if getattr(self, name) is not UNSET
        }
        if "description" in changed:
            changed["description"] = changed["description"] or ""
        return replace(row, **changed)
