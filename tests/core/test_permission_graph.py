"""The permission graph on its own: expansion, cycle finding and config rewriting."""

from __future__ import annotations

from authstack_core.models.config import NEW_PROJECT_OVERRIDE, ProjectConfig
from authstack_core.models.permissions import (
    PermissionDefinition,
    custom_definitions,
    definitions,
    expand,
    find_cycle,
    override_with,
)


def _defs(**edges: list[str]) -> dict[str, PermissionDefinition]:
    return {k: PermissionDefinition(k, "team", None, tuple(v)) for k, v in edges.items()}


def test_expand_follows_containment_only_when_recursive() -> None:
    defs = _defs(a=["b"], b=["c", "d"], c=[], d=["c"])
    assert expand(["a"], defs, recursive=False) == {"a"}
    assert expand(["a"], defs, recursive=True) == {"a", "b", "c", "d"}


def test_expand_ignores_grants_and_containment_of_undefined_ids() -> None:
    defs = _defs(a=["ghost"])
    assert expand(["a", "deleted"], defs, recursive=True) == {"a"}


def test_expand_terminates_on_a_cycle_that_slipped_into_config() -> None:
    defs = _defs(a=["b"], b=["a"])
    assert expand(["a"], defs, recursive=True) == {"a", "b"}


def test_find_cycle_reports_the_loop_and_accepts_a_dag() -> None:
    assert find_cycle(_defs(a=["b", "c"], b=["c"], c=[])) is None
    assert find_cycle(_defs(a=["b"], b=["c"], c=["a"])) == ["a", "b", "c", "a"]
    assert find_cycle(_defs(a=["a"])) == ["a", "a"]
    assert find_cycle(_defs(x=[], a=["x", "b"], b=["x", "a"])) == ["a", "b", "a"]


def test_new_projects_render_the_seeded_definitions() -> None:
    config = ProjectConfig.from_override(NEW_PROJECT_OVERRIDE)
    team = definitions(config, "team")
    assert team["team_member"].contained_permission_ids == ("$invite_members", "$read_members")
    assert len(team["team_admin"].contained_permission_ids) == 6
    assert team["$manage_api_keys"].is_system
    assert definitions(config, "project") == {}


def test_override_with_replaces_deeper_keys_whatever_their_order() -> None:
    # jsonb returns keys shortest first, so a parent key is applied before its children: the
    # rewrite must drop the children, or they would bring deleted definitions back.
    override = {
        "rbac.permissions.old": {"scope": "team", "containedPermissionIds": {}},
        "rbac.permissions.old.description": "stale",
        "rbac.defaultPermissions.teamMember": {"old": True},
        "teams.allowClientTeamCreation": True,
    }
    new = override_with(
        override,
        {"fresh": PermissionDefinition("fresh", "project", "d", ())},
        {"teamMember": []},
    )
    assert new["teams.allowClientTeamCreation"] is True
    assert not any(k.startswith("rbac.permissions.") for k in new)
    assert new["rbac.permissions"] == {
        "fresh": {"scope": "project", "containedPermissionIds": {}, "description": "d"}
    }
    config = ProjectConfig.from_override(new)
    assert set(custom_definitions(config)) == {"fresh"}
    assert config.default_permissions("teamMember") == []
    assert override["rbac.permissions.old.description"] == "stale"  # input left untouched
