"""Which config paths an override may set, on which level, with which type (contract §10).

``SCHEMA`` is the whole of it: one row per leaf path. ``<...>`` segments are record keys (an
OAuth provider id, a permission id, ...) checked by the pattern ``KEY_PATTERNS`` gives them. A
path under an ``ANY`` leaf is opaque JSON (features whose settings are stored but not read yet).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from authstack_core.models.config import ProjectConfig
from authstack_core.models.oauth import BUILTIN_PROVIDER_TYPES, GENERIC_OIDC_TYPE
from authstack_core.models.sign_up_rules import check_condition
from authstack_core.urls import parse_web_url

Level = Literal["project", "branch", "environment"]
LEVELS: tuple[Level, ...] = ("project", "branch", "environment")

# Which levels may set a path. The environment level takes everything the branch level does
# (plus secrets and domains); a branch is the project's pushable configuration.
PROJECT_ONLY: frozenset[Level] = frozenset({"project"})
ANY_LEVEL: frozenset[Level] = frozenset(LEVELS)
BRANCH: frozenset[Level] = frozenset({"branch", "environment"})
ENVIRONMENT: frozenset[Level] = frozenset({"environment"})

_SEGMENT = r"[a-zA-Z0-9_$:][a-zA-Z0-9_$:\-]*"
# A key of an override, or of an object inside one: dot-separated segments. (Upstream has no
# ":"; permission ids such as "invoices:read" need it.)
KEY = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
KEY_PATTERNS: dict[str, re.Pattern[str]] = {
    "<id>": re.compile(_SEGMENT),
    "<permission>": re.compile(r"[a-z0-9_:]+"),
    "<permission_ref>": re.compile(r"\$?[a-z0-9_:]+"),
}
OAUTH_PROVIDER_TYPES = (*BUILTIN_PROVIDER_TYPES, GENERIC_OIDC_TYPE)


@dataclass(frozen=True, slots=True)
class Kind:
    """A leaf's type: ``check`` says what is wrong with a value, or returns None."""

    name: str  # what a value must be: "a boolean", "one of ..."
    test: Callable[[Any], bool] = field(default=lambda _: True, compare=False)

    def check(self, value: Any) -> str | None:
        return None if self.test(value) else f"must be {self.name}"


class WebUrl(Kind):
    """An http(s) URL a browser reads as written, without credentials (a redirect target)."""

    def check(self, value: Any) -> str | None:
        url = parse_web_url(value) if isinstance(value, str) else None
        if url is None or url.scheme not in ("http", "https") or url.host_kind == "none":
            return "must be a valid http(s) URL"
        return "must not carry credentials" if url.has_credentials else None


class CelCondition(Kind):
    """A sign-up rule's condition: CEL that compiles (models.sign_up_rules)."""

    def check(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        problem = check_condition(value)
        return None if problem is None else f"must be a valid CEL expression ({problem})"


def one_of(*values: str) -> Kind:
    return Kind("one of the following values: " + ", ".join(values), lambda v: v in values)


def text_like(name: str, regex: str) -> Kind:
    return Kind(name, lambda v: isinstance(v, str) and re.fullmatch(regex, v) is not None)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 65536


BOOL = Kind("a boolean", lambda v: isinstance(v, bool))
TEXT = Kind("a string", lambda v: isinstance(v, str))
FILLED = Kind("a non-empty string", lambda v: isinstance(v, str) and v != "")
NUMBER = Kind("a number", _is_number)
PORT = Kind("a port (0-65535)", _is_port)
ANY = Kind("any JSON value")  # opaque: stored as given
URL = WebUrl("a URL")
HANDLER_PATH = text_like("a path starting with /", r"/.*")
EMAIL = text_like("an email address", r"[^@\s]+@[^@\s]+")
SIGN_UP_ACTIONS = ("allow", "reject", "restrict", "log")

_PROVIDER = "auth.oauth.providers.<id>"
_SERVER = "emails.server"
_RULE = "auth.signUpRules.<id>"
_PERMISSION = "rbac.permissions.<permission>"
SCHEMA: dict[str, tuple[Kind, frozenset[Level]]] = {
    "sourceOfTruth.type": (one_of("hosted", "neon", "postgres"), PROJECT_ONLY),
    "sourceOfTruth.connectionString": (TEXT, PROJECT_ONLY),
    "sourceOfTruth.connectionStrings.<id>": (TEXT, PROJECT_ONLY),
    "project.requirePublishableClientKey": (BOOL, ANY_LEVEL),
    "auth.allowSignUp": (BOOL, BRANCH),
    "auth.password.allowSignIn": (BOOL, BRANCH),
    "auth.password.rejectCommonPasswords": (BOOL, BRANCH),  # ours: see config.DEFAULTS
    "auth.otp.allowSignIn": (BOOL, BRANCH),
    "auth.passkey.allowSignIn": (BOOL, BRANCH),
    "auth.oauth.accountMergeStrategy": (
        one_of("link_method", "raise_error", "allow_duplicates"),
        BRANCH,
    ),
    f"{_PROVIDER}.type": (one_of(*OAUTH_PROVIDER_TYPES), BRANCH),
    f"{_PROVIDER}.allowSignIn": (BOOL, BRANCH),
    f"{_PROVIDER}.allowConnectedAccounts": (BOOL, BRANCH),
    f"{_PROVIDER}.isShared": (BOOL, ENVIRONMENT),
    f"{_PROVIDER}.clientId": (TEXT, ENVIRONMENT),
    f"{_PROVIDER}.clientSecret": (TEXT, ENVIRONMENT),
    f"{_PROVIDER}.facebookConfigId": (TEXT, ENVIRONMENT),
    f"{_PROVIDER}.microsoftTenantId": (TEXT, ENVIRONMENT),
    f"{_PROVIDER}.appleBundles": (ANY, ENVIRONMENT),
    # ours: the issuer of a generic OpenID Connect provider (type custom_oidc), discovered from
    # <issuerUrl>/.well-known/openid-configuration.
    f"{_PROVIDER}.issuerUrl": (URL, ENVIRONMENT),
    f"{_RULE}.enabled": (BOOL, BRANCH),
    f"{_RULE}.displayName": (TEXT, BRANCH),
    f"{_RULE}.priority": (NUMBER, BRANCH),
    f"{_RULE}.condition": (CelCondition("a CEL expression"), BRANCH),
    f"{_RULE}.action.type": (one_of(*SIGN_UP_ACTIONS), BRANCH),
    f"{_RULE}.action.message": (TEXT, BRANCH),
    "auth.signUpRulesDefaultAction": (one_of("allow", "reject"), BRANCH),
    "onboarding.requireEmailVerification": (BOOL, BRANCH),
    "domains.allowLocalhost": (BOOL, BRANCH),
    "domains.trustedDomains.<id>.baseUrl": (URL, ENVIRONMENT),
    "domains.trustedDomains.<id>.handlerPath": (HANDLER_PATH, ENVIRONMENT),
    "teams.createPersonalTeamOnSignUp": (BOOL, BRANCH),
    "teams.allowClientTeamCreation": (BOOL, BRANCH),
    "users.allowClientUserDeletion": (BOOL, BRANCH),
    f"{_PERMISSION}.description": (TEXT, BRANCH),
    f"{_PERMISSION}.scope": (one_of("team", "project"), BRANCH),
    f"{_PERMISSION}.containedPermissionIds.<permission_ref>": (BOOL, BRANCH),
    "rbac.defaultPermissions.teamCreator.<permission_ref>": (BOOL, BRANCH),
    "rbac.defaultPermissions.teamMember.<permission_ref>": (BOOL, BRANCH),
    "rbac.defaultPermissions.signUp.<permission_ref>": (BOOL, BRANCH),
    "apiKeys.enabled.user": (BOOL, BRANCH),
    "apiKeys.enabled.team": (BOOL, BRANCH),
    "apps.installed.<id>.enabled": (BOOL, BRANCH),
    f"{_SERVER}.isShared": (BOOL, ENVIRONMENT),
    f"{_SERVER}.provider": (one_of("smtp", "resend", "managed"), ENVIRONMENT),
    f"{_SERVER}.host": (FILLED, ENVIRONMENT),
    f"{_SERVER}.port": (PORT, ENVIRONMENT),
    f"{_SERVER}.username": (FILLED, ENVIRONMENT),
    f"{_SERVER}.password": (FILLED, ENVIRONMENT),
    f"{_SERVER}.senderName": (FILLED, ENVIRONMENT),
    f"{_SERVER}.senderEmail": (EMAIL, ENVIRONMENT),
    f"{_SERVER}.managedSubdomain": (TEXT, ENVIRONMENT),
    f"{_SERVER}.managedSenderLocalPart": (TEXT, ENVIRONMENT),
    f"{_SERVER}.secure": (BOOL, ENVIRONMENT),  # ours: see config.EmailServerConfig
    "emails.selectedThemeId": (TEXT, BRANCH),
    "emails.themes.<id>": (ANY, BRANCH),
    "emails.templates.<id>": (ANY, BRANCH),
    "dbSync.externalDatabases.<id>.type": (one_of("postgres"), BRANCH),
    "dbSync.externalDatabases.<id>.connectionString": (TEXT, BRANCH),
    "dataVault.stores.<id>": (ANY, BRANCH),
    "payments": (ANY, BRANCH),
    "analytics.queryFolders.<id>": (ANY, BRANCH),
    "customDashboards.<id>": (ANY, BRANCH),
    # ours: the app page that receives an impersonation session the dashboard starts (its
    # refresh token in the URL fragment); checked against the trusted domains when used.
    "impersonation.handlerUrl": (URL, PROJECT_ONLY),
}


@dataclass(slots=True)
class _Node:
    """A path of the schema: a leaf (``kind``), an object (``children``) or a record
    (``entries``: the key pattern and the node each entry is)."""

    kind: Kind | None = None
    levels: frozenset[Level] = frozenset()
    children: dict[str, _Node] = field(default_factory=dict)
    entries: tuple[re.Pattern[str], _Node] | None = None

    def child(self, part: str) -> _Node | None:
        if part in self.children:
            return self.children[part]
        if self.entries is not None and self.entries[0].fullmatch(part):
            return self.entries[1]
        return None

    def find(self, path: str) -> _Node | None:
        node = self
        for part in path.split("."):
            if node.kind is ANY:
                return node  # inside opaque JSON
            found = node.child(part) if node.kind is None else None
            if found is None:
                return None
            node = found
        return node


def _build() -> _Node:
    root = _Node()
    for path, (kind, levels) in SCHEMA.items():
        node = root
        node.levels |= levels
        for part in path.split("."):
            pattern = KEY_PATTERNS.get(part)
            if pattern is None:
                node = node.children.setdefault(part, _Node())
            else:
                if node.entries is None:
                    node.entries = (pattern, _Node())
                node = node.entries[1]
            node.levels |= levels
        node.kind = kind
    return root


_ROOT = _build()


def _check_value(node: _Node, path: str, value: Any, level: Level) -> list[str]:
    if level not in node.levels:
        allowed = " or ".join(lv for lv in LEVELS if lv in node.levels)
        return [f'"{path}" cannot be set on the {level} level (it belongs to the {allowed} level)']
    if value is None:
        return []  # removes what the path held
    if node.kind is not None:
        problem = node.kind.check(value)
        return [f"{path} {problem}"] if problem else []
    if not isinstance(value, dict):
        return [f"{path} must be an object"]
    problems: list[str] = []
    for key, inner in value.items():
        problems += _check_key(node, f"{path}.{key}", key, inner, level)
    return problems


def _check_key(node: _Node, path: str, key: str, value: Any, level: Level) -> list[str]:
    if not KEY.fullmatch(key):
        return [
            f'The key "{path}" is not valid: keys are dot-separated names of letters, digits, '
            '"_", "$", ":" and "-" (not starting with "-").'
        ]
    found = node.find(key)
    if found is None:
        return [f'The key "{path}" is not valid for the schema.']
    return _check_value(found, path, value, level)


MAX_DEPTH = 32


def _storage_problem(override: Mapping[str, Any]) -> str | None:
    """Why PostgreSQL's jsonb could not hold ``override`` as given, if it could not."""
    pending: list[tuple[Any, int]] = [(override, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"The config nests deeper than {MAX_DEPTH} levels."
        if isinstance(value, dict):
            pending.extend((k, depth) for k in value)
            pending.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            pending.extend((v, depth + 1) for v in value)
        elif isinstance(value, str) and "\x00" in value:
            return "The config must not contain NUL characters."
        elif isinstance(value, float) and not math.isfinite(value):
            return "The config must not contain non-finite numbers."
    return None


def override_problems(level: Level, override: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``override`` as an override of ``level``, one line per problem."""
    storage = _storage_problem(override)
    if storage is not None:
        return [storage]
    problems: list[str] = []
    for key, value in override.items():
        problems += _check_key(_ROOT, key, key, value, level)
    return problems


def changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The paths at which two rendered configs differ, down to the schema's leaves (an opaque
    value, a record entry's field), sorted: names only, never a value (the audit log's)."""
    out: list[str] = []
    _diff(_ROOT, before, after, "", out)
    return sorted(out)


def _diff(
    node: _Node, before: Mapping[str, Any], after: Mapping[str, Any], prefix: str, out: list[str]
) -> None:
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if old == new and (key in before) == (key in after):
            continue
        path = f"{prefix}{key}"
        child = node.child(key) if node.kind is None else None
        # An object on both sides: what changed inside it; an added or removed one: itself.
        if (
            child is not None
            and child.kind is None
            and isinstance(old, Mapping)
            and isinstance(new, Mapping)
        ):
            _diff(child, old, new, path + ".", out)
        else:
            out.append(path)


UNLINKED: dict[str, Any] = {"type": "unlinked"}


@dataclass(slots=True)
class ConfigLevels:
    """A tenancy's stored overrides, level by level, and where its branch level came from."""

    config_override: dict[str, Any]
    branch_config_override: dict[str, Any]
    environment_config_override: dict[str, Any]
    branch_config_source: dict[str, Any] = field(default_factory=lambda: dict(UNLINKED))

    def of(self, level: Level) -> dict[str, Any]:
        if level == "project":
            return self.config_override
        if level == "branch":
            return self.branch_config_override
        return self.environment_config_override

    def with_level(self, level: Level, override: dict[str, Any]) -> ProjectConfig:
        """The config these levels render to once ``level`` holds ``override``."""
        stack = [self.of(lv) if lv != level else override for lv in LEVELS]
        return ProjectConfig.from_levels(*stack)

    def config(self) -> ProjectConfig:
        return ProjectConfig.from_levels(*(self.of(lv) for lv in LEVELS))
