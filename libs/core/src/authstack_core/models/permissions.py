"""Permission definitions (config ``rbac.permissions``) and the containment graph over them.

Definitions are config, not rows:
``rbac.permissions.<id> = {description, scope, containedPermissionIds}``.
The six ``$`` system permissions are team-scoped and always defined. Grants name definition ids;
a grant whose definition no longer exists grants nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from authstack_core.models.config import SYSTEM_TEAM_PERMISSIONS, ProjectConfig

Scope = Literal["team", "project"]
SCOPES: tuple[Scope, ...] = ("team", "project")
PERMISSION_ID = re.compile(r"^\$?[a-z0-9_:]+$")
CUSTOM_PERMISSION_ID = re.compile(r"^[a-z0-9_:]+$")
DEFAULT_GROUP_SCOPES: dict[str, Scope] = {
    "teamCreator": "team",
    "teamMember": "team",
    "signUp": "project",
}
_PERMISSIONS_KEY = "rbac.permissions"
_DEFAULTS_KEY = "rbac.defaultPermissions"

# Upstream's descriptions of the system permissions (lib/permissions.tsx), word for word.
SYSTEM_DESCRIPTIONS = {
    "$update_team": "Update the team information",
    "$delete_team": "Delete the team",
    "$read_members": "Read and list the other members of the team",
    "$remove_members": "Remove other members from the team",
    "$invite_members": "Invite other users to the team",
    "$manage_api_keys": "Create and manage API keys for the team",
}


@dataclass(frozen=True, slots=True)
class PermissionDefinition:
    id: str
    scope: Scope
    description: str | None
    contained_permission_ids: tuple[str, ...]

    @property
    def is_system(self) -> bool:
        return self.id.startswith("$")

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.description:
            out["description"] = self.description
        out["contained_permission_ids"] = list(self.contained_permission_ids)
        return out

    def config_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "scope": self.scope,
            "containedPermissionIds": dict.fromkeys(self.contained_permission_ids, True),
        }
        if self.description is not None:
            entry["description"] = self.description
        return entry


def _contained(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, Mapping):
        ids: Iterable[Any] = (k for k, on in raw.items() if on)
    elif isinstance(raw, list):
        ids = raw
    else:
        ids = ()
    return tuple(sorted({i for i in ids if isinstance(i, str) and PERMISSION_ID.match(i)}))


def custom_definitions(config: ProjectConfig) -> dict[str, PermissionDefinition]:
    """Every well-formed custom definition in the rendered config, of both scopes."""
    raw = (config.raw.get("rbac") or {}).get("permissions") or {}
    out: dict[str, PermissionDefinition] = {}
    if not isinstance(raw, Mapping):
        return out
    for pid, entry in raw.items():
        if not (isinstance(pid, str) and CUSTOM_PERMISSION_ID.match(pid)):
            continue
        if not isinstance(entry, Mapping) or entry.get("scope") not in SCOPES:
            continue
        description = entry.get("description")
        out[pid] = PermissionDefinition(
            id=pid,
            scope=entry["scope"],
            description=description if isinstance(description, str) else None,
            contained_permission_ids=_contained(entry.get("containedPermissionIds")),
        )
    return out


def system_definitions() -> dict[str, PermissionDefinition]:
    return {
        pid: PermissionDefinition(pid, "team", SYSTEM_DESCRIPTIONS[pid], ())
        for pid in SYSTEM_TEAM_PERMISSIONS
    }


def definitions(config: ProjectConfig, scope: Scope) -> dict[str, PermissionDefinition]:
    """The definitions of one scope, system ones included for ``team``, sorted by id."""
    found = {k: v for k, v in custom_definitions(config).items() if v.scope == scope}
    if scope == "team":
        found.update(system_definitions())
    return dict(sorted(found.items()))


def expand(
    direct: Iterable[str], defs: Mapping[str, PermissionDefinition], *, recursive: bool
) -> set[str]:
    """The ids a holder of ``direct`` grants has: the defined ones, plus (if ``recursive``)
    everything they contain, transitively. Containment of an undefined id grants nothing."""
    result: set[str] = set()
    pending = [pid for pid in direct if pid in defs]
    while pending:
        pid = pending.pop()
        if pid in result:
            continue
        result.add(pid)
        if recursive:
            pending.extend(c for c in defs[pid].contained_permission_ids if c in defs)
    return result


def find_cycle(defs: Mapping[str, PermissionDefinition]) -> list[str] | None:
    """A containment cycle (as a path that returns to its start), or None if the graph is a DAG."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in sorted(defs):
        if state.get(root):
            continue
        path: list[str] = [root]
        iterators = [iter(defs[root].contained_permission_ids)]
        state[root] = 1
        while iterators:
            child = next(iterators[-1], None)
            if child is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if child not in defs or state.get(child) == 2:
                continue
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            state[child] = 1
            path.append(child)
            iterators.append(iter(defs[child].contained_permission_ids))
    return None


def _without_path(override: dict[str, Any], path: str) -> dict[str, Any]:
    return {k: v for k, v in override.items() if k != path and not k.startswith(path + ".")}


def override_with(
    override: dict[str, Any],
    custom: Mapping[str, PermissionDefinition],
    default_groups: Mapping[str, Iterable[str]],
) -> dict[str, Any]:
    """``override`` with ``rbac.permissions`` replaced by ``custom`` and the given default groups
    replaced. Deeper keys are dropped so the single replacing key is the final word, whatever
    order the stored JSON returns its keys in."""
    out = _without_path(copy.deepcopy(override), _PERMISSIONS_KEY)
    out[_PERMISSIONS_KEY] = {pid: d.config_entry() for pid, d in sorted(custom.items())}
    for group, ids in default_groups.items():
        key = f"{_DEFAULTS_KEY}.{group}"
        out = _without_path(out, key)
        out[key] = dict.fromkeys(sorted(ids), True)
    return out
