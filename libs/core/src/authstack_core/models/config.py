"""Project configuration: dot-path overrides (contract §10) merged over the schema defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import msgspec

from authstack_core.models.config_format import merge_overrides, render_override
from authstack_core.models.sign_up_rules import SignUpRule, parse_rules

DEFAULTS: dict[str, Any] = {
    "sourceOfTruth": {"type": "hosted"},
    "project": {"requirePublishableClientKey": False},
    "auth": {
        "allowSignUp": True,
        # rejectCommonPasswords is ours (not in Stack Auth's schema): refuse new passwords found
        # on the shipped common-password list.
        "password": {"allowSignIn": False, "rejectCommonPasswords": True},
        "otp": {"allowSignIn": False},
        "passkey": {"allowSignIn": False},
        "oauth": {"accountMergeStrategy": "link_method", "providers": {}},
        "signUpRules": {},
        "signUpRulesDefaultAction": "allow",
    },
    "onboarding": {"requireEmailVerification": False},
    "domains": {"allowLocalhost": False, "trustedDomains": {}},
    "teams": {"createPersonalTeamOnSignUp": False, "allowClientTeamCreation": False},
    "users": {"allowClientUserDeletion": False},
    "apiKeys": {"enabled": {"user": False, "team": False}},
    "rbac": {
        "permissions": {},
        "defaultPermissions": {"teamCreator": {}, "teamMember": {}, "signUp": {}},
    },
    "apps": {"installed": {}},
    "emails": {"server": {"isShared": True}, "themes": {}, "templates": {}},
    "dbSync": {"externalDatabases": {}},
    "dataVault": {"stores": {}},
    # ours (Stack Auth has no such key): where the dashboard opens an impersonation session.
    "impersonation": {"handlerUrl": None},
}
# The fields every entry of these records has unless it says otherwise (upstream's per-key
# defaults).
ENTRY_DEFAULTS: dict[str, dict[str, Any]] = {
    "auth.oauth.providers": {
        "isShared": True,
        "allowSignIn": False,
        "allowConnectedAccounts": False,
    },
    "domains.trustedDomains": {"handlerPath": "/handler"},
    "rbac.permissions": {"containedPermissionIds": {}},
}

# Upstream's built-in email themes (contract era, stack-shared helpers/emails): id -> name. The
# legacy ``email_theme`` and ``emails.selectedThemeId`` name one of these or a custom
# ``emails.themes.<id>``.
DEFAULT_EMAIL_THEME_ID = "1df07ae6-abf3-4a40-83a5-a1a2cbe336ac"
BUILT_IN_EMAIL_THEMES: dict[str, str] = {
    DEFAULT_EMAIL_THEME_ID: "Default Light",
    "a0172b5d-cff0-463b-83bb-85124697373a": "Default Dark",
    "c7e2d94f-8a1b-4e6d-b3f5-9d0a2e7c1b8f": "Default Colorful",
}

# A theme choice (an email's, a draft's): a theme id, None for the project's selected theme,
# False for no theme (upstream's ``theme_id: false``).
ThemeChoice: TypeAlias = str | None | Literal[False]

SYSTEM_TEAM_PERMISSIONS = (
    "$update_team",
    "$delete_team",
    "$read_members",
    "$remove_members",
    "$invite_members",
    "$manage_api_keys",
)

# What a newly created project starts with (the seed and project creation apply these).
NEW_PROJECT_OVERRIDE: dict[str, Any] = {
    "auth.password.allowSignIn": True,
    # Written out, not left to DEFAULTS, so that no later default can open localhost redirects
    # on existing projects: a project allows them only when asked to.
    "domains.allowLocalhost": False,
    "rbac.permissions.team_member": {
        "description": "Default permission for team members",
        "scope": "team",
        "containedPermissionIds": {"$read_members": True, "$invite_members": True},
    },
    "rbac.permissions.team_admin": {
        "description": "Default permission for team admins",
        "scope": "team",
        "containedPermissionIds": dict.fromkeys(SYSTEM_TEAM_PERMISSIONS, True),
    },
    "rbac.defaultPermissions.teamCreator": {"team_admin": True},
    "rbac.defaultPermissions.teamMember": {"team_member": True},
}


def render(override: dict[str, Any]) -> dict[str, Any]:
    """The rendered config of one (merged) override (see ``config_format.render_override``)."""
    return render_override(DEFAULTS, ENTRY_DEFAULTS, override)


@dataclass(frozen=True, slots=True)
class TrustedDomain:
    base_url: str
    handler_path: str


@dataclass(frozen=True, slots=True)
class EmailServerConfig:
    """``emails.server`` (contract §10): the shared server, or the project's own SMTP server.

    ``secure`` is this project's addition: implicit TLS when true, STARTTLS-when-offered when
    false; unset, it follows the port (465 means implicit TLS, as mail clients assume).
    """

    is_shared: bool
    provider: str
    host: str | None
    port: int | None
    username: str | None
    password: str | None = field(repr=False)
    sender_name: str | None
    sender_email: str | None
    secure: bool | None


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """The rendered config, with typed accessors for what the services read."""

    raw: dict[str, Any]

    @classmethod
    def from_override(cls, override: dict[str, Any]) -> ProjectConfig:
        # Rendering deep-copies the defaults; few distinct overrides exist, so cache by the
        # override's canonical bytes (ProjectConfig is immutable and raw is never mutated).
        key = msgspec.json.encode(override, order="deterministic")
        config = _CONFIG_CACHE.get(key)
        if config is None:
            if len(_CONFIG_CACHE) >= 1024:
                _CONFIG_CACHE.clear()
            config = _CONFIG_CACHE[key] = cls(render(override))
        return config

    @classmethod
    def from_levels(cls, *overrides: Mapping[str, Any]) -> ProjectConfig:
        """The config of the project, branch and environment overrides, in that order."""
        return cls.from_override(merge_overrides(*overrides))

    def _get(self, path: str) -> Any:
        node: Any = self.raw
        for part in path.split("."):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node

    @property
    def analytics_enabled(self) -> bool:
        """The analytics app is installed: browser events are accepted (contract §1.7)."""
        return bool(self._get("apps.installed.analytics.enabled"))

    @property
    def require_publishable_client_key(self) -> bool:
        return bool(self._get("project.requirePublishableClientKey"))

    @property
    def allow_sign_up(self) -> bool:
        return bool(self._get("auth.allowSignUp"))

    @property
    def password_sign_in(self) -> bool:
        return bool(self._get("auth.password.allowSignIn"))

    @property
    def reject_common_passwords(self) -> bool:
        return self._get("auth.password.rejectCommonPasswords") is not False

    @property
    def otp_sign_in(self) -> bool:
        return bool(self._get("auth.otp.allowSignIn"))

    @property
    def passkey_sign_in(self) -> bool:
        return bool(self._get("auth.passkey.allowSignIn"))

    @property
    def require_email_verification(self) -> bool:
        return bool(self._get("onboarding.requireEmailVerification"))

    @property
    def create_team_on_sign_up(self) -> bool:
        return bool(self._get("teams.createPersonalTeamOnSignUp"))

    @property
    def client_team_creation(self) -> bool:
        return bool(self._get("teams.allowClientTeamCreation"))

    @property
    def client_user_deletion(self) -> bool:
        return bool(self._get("users.allowClientUserDeletion"))

    @property
    def allow_localhost(self) -> bool:
        return bool(self._get("domains.allowLocalhost"))

    @property
    def impersonation_handler_url(self) -> str | None:
        """``impersonation.handlerUrl``: the app page an impersonation session is handed to."""
        value = self._get("impersonation.handlerUrl")
        return value if isinstance(value, str) and value else None

    @property
    def user_api_keys(self) -> bool:
        return bool(self._get("apiKeys.enabled.user"))

    @property
    def team_api_keys(self) -> bool:
        return bool(self._get("apiKeys.enabled.team"))

    @property
    def sign_up_rules(self) -> list[tuple[str, SignUpRule]]:
        """``auth.signUpRules`` by id, in evaluation order (see ``parse_rules``)."""
        return parse_rules(self._get("auth.signUpRules"))

    @property
    def sign_up_rules_reject_by_default(self) -> bool:
        """``auth.signUpRulesDefaultAction`` is "reject": a sign-up no rule decides is refused."""
        return bool(self._get("auth.signUpRulesDefaultAction") == "reject")

    @property
    def trusted_domains(self) -> list[TrustedDomain]:
        domains = self._get("domains.trustedDomains") or {}
        return [
            TrustedDomain(str(d["baseUrl"]), str(d.get("handlerPath") or "/handler"))
            for d in domains.values()
            if isinstance(d, dict) and d.get("baseUrl")
        ]

    @property
    def enabled_oauth_providers(self) -> list[str]:
        """The ids of the providers users may sign in with, as authorize takes them. As upstream,
        an entry without a type is none (nor is one without an issuer, for a generic one)."""
        providers = self._get("auth.oauth.providers") or {}
        return sorted(
            pid
            for pid, p in providers.items()
            if isinstance(p, dict)
            and p.get("allowSignIn")
            and (p.get("type") or p.get("issuerUrl"))
        )

    @property
    def email_theme_ids(self) -> frozenset[str]:
        """The built-in themes and the project's own (``emails.themes.<id>``)."""
        custom = self._get("emails.themes")
        return frozenset(BUILT_IN_EMAIL_THEMES).union(custom if isinstance(custom, dict) else ())

    @property
    def email_theme(self) -> str:
        """The selected theme; the default one when the selection names no theme (upstream
        renders ``emails.selectedThemeId`` the same way)."""
        selected = self._get("emails.selectedThemeId")
        return selected if selected in self.email_theme_ids else DEFAULT_EMAIL_THEME_ID

    @property
    def email_server(self) -> EmailServerConfig:
        server = self._get("emails.server")
        server = server if isinstance(server, dict) else {}

        def text(key: str) -> str | None:
            value = server.get(key)
            return str(value) if value not in (None, "") else None

        port = server.get("port")
        secure = server.get("secure")
        return EmailServerConfig(
            is_shared=server.get("isShared", True) is not False,
            provider=text("provider") or "smtp",
            host=text("host"),
            port=int(port) if isinstance(port, int | str) and str(port).isdigit() else None,
            username=text("username"),
            password=text("password"),
            sender_name=text("senderName"),
            sender_email=text("senderEmail"),
            secure=secure if isinstance(secure, bool) else None,
        )

    def default_permissions(self, group: str) -> list[str]:
        """Permission ids granted by default to ``teamCreator``, ``teamMember`` or ``signUp``."""
        perms = self._get(f"rbac.defaultPermissions.{group}") or {}
        return sorted(pid for pid, on in perms.items() if on)

    def client_view(self) -> dict[str, Any]:
        """The ``config`` block of ``GET /projects/current`` (contract §1.5; ``allow_localhost``
        as upstream's client read schema has it)."""
        return {
            "sign_up_enabled": self.allow_sign_up,
            "credential_enabled": self.password_sign_in,
            "magic_link_enabled": self.otp_sign_in,
            "passkey_enabled": self.passkey_sign_in,
            "client_team_creation_enabled": self.client_team_creation,
            "client_user_deletion_enabled": self.client_user_deletion,
            "allow_localhost": self.allow_localhost,
            "allow_user_api_keys": self.user_api_keys,
            "allow_team_api_keys": self.team_api_keys,
            "enabled_oauth_providers": [{"id": p} for p in self.enabled_oauth_providers],
            "domains": [
                {"domain": d.base_url, "handler_path": d.handler_path} for d in self.trusted_domains
            ],
        }


_CONFIG_CACHE: dict[bytes, ProjectConfig] = {}
