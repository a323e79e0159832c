"""0010 gives projects upstream's admin fields (logos, development flag, onboarding stage) and turns
the skip reasons already recorded in words into upstream's codes."""

from __future__ import annotations

import uuid

import psycopg

from authstack_migrator.runner import load_migrations, migrate
from tests.migrator.helpers import one_row

SKIPPED = {
    "the recipient user no longer exists": "USER_ACCOUNT_DELETED",
    "the recipient user has no primary email": "USER_HAS_NO_PRIMARY_EMAIL",
    "a reason no release ever wrote": "a reason no release ever wrote",
}


def test_existing_projects_get_the_defaults_and_skip_reasons_become_codes(fresh_db: str) -> None:
    shipped = load_migrations()
    migrate(fresh_db, [m for m in shipped if m.version < 10])
    project_id, tenancy_id = str(uuid.uuid4()), uuid.uuid4()
    with psycopg.connect(fresh_db) as conn:
        conn.execute("INSERT INTO projects (id, display_name) VALUES (%s, 'p')", (project_id,))
        conn.execute(
            "INSERT INTO tenancies (id, project_id, branch_id) VALUES (%s, %s, 'main')",
            (tenancy_id, project_id),
        )
        for reason in SKIPPED:
            conn.execute(
                "INSERT INTO email_outbox (id, tenancy_id, template, to_email, status, "
                "skipped_reason, finished_at) VALUES (%s, %s, 'custom_html', 'a@b.test', "
                "'skipped', %s, now())",
                (uuid.uuid4(), tenancy_id, reason),
            )
    assert [m.version for m in migrate(fresh_db, [m for m in shipped if m.version <= 10])] == [10]

    row = one_row(
        fresh_db,
        "SELECT logo_url, logo_full_url, logo_dark_mode_url, logo_full_dark_mode_url, "
        "is_development_environment, onboarding_status FROM projects WHERE id = %s",
        project_id,
    )
    assert row == (None, None, None, None, False, "completed")
    with psycopg.connect(fresh_db) as conn:
        reasons = {r for (r,) in conn.execute("SELECT skipped_reason FROM email_outbox")}
    assert reasons == set(SKIPPED.values())


def test_the_onboarding_stage_is_one_of_upstreams(fresh_db: str) -> None:
    migrate(fresh_db, [m for m in load_migrations() if m.version <= 10])
    with psycopg.connect(fresh_db) as conn:
        try:
            conn.execute(
                "INSERT INTO projects (id, display_name, onboarding_status) "
                "VALUES (%s, 'p', 'halfway')",
                (str(uuid.uuid4()),),
            )
        except psycopg.errors.CheckViolation:
            return
    raise AssertionError("an unknown onboarding stage was stored")
