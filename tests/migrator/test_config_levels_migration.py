"""0008 gives tenancies the branch and environment config levels and copies the settings that
belong there from the project level, so every project renders the same config after it."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.types.json import Jsonb

from authstack_core.models.config import ProjectConfig
from authstack_migrator.runner import load_migrations, migrate
from tests.migrator.helpers import one_row

STORED = {
    "project.requirePublishableClientKey": True,
    "sourceOfTruth": {"type": "hosted"},
    "auth.password.allowSignIn": True,
    "auth": {"otp": {"allowSignIn": True}},
    "rbac.defaultPermissions.teamMember": {"team_member": True},
}


def test_settings_stored_before_the_levels_are_copied_to_the_environment_level(
    fresh_db: str,
) -> None:
    shipped = load_migrations()
    before = [m for m in shipped if m.version < 8]
    migrate(fresh_db, before)
    project_id, tenancy_id = str(uuid.uuid4()), uuid.uuid4()
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO projects (id, display_name, config_override) VALUES (%s, 'p', %s)",
            (project_id, Jsonb(STORED)),
        )
        conn.execute(
            "INSERT INTO tenancies (id, project_id, branch_id) VALUES (%s, %s, 'main')",
            (tenancy_id, project_id),
        )
    # Up to 0008 only: later files have nothing to do with this copy.
    assert [m.version for m in migrate(fresh_db, [m for m in shipped if m.version <= 8])] == [8]
    project, branch, environment, source = one_row(
        fresh_db,
        "SELECT p.config_override, t.branch_config_override, t.environment_config_override, "
        "t.branch_config_source FROM tenancies t JOIN projects p ON p.id = t.project_id "
        "WHERE t.id = %s",
        tenancy_id,
    )
    assert project == STORED  # kept for a release still running the previous code
    assert branch == {}
    assert source == {"type": "unlinked"}
    assert environment == {
        key: value
        for key, value in STORED.items()
        if not key.startswith(("project", "sourceOfTruth"))
    }
    rendered = ProjectConfig.from_levels(project, branch, environment).raw
    assert rendered == ProjectConfig.from_override(STORED).raw
