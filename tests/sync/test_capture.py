"""Change capture at the trigger level: every insert, update and delete of a synced table, as any
SQL writes it, leaves the row marked changed (sync_sequence_id NULL) or a tombstone, and the
sequencer numbers them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import Project, create_project
from tests.factories import query_value
from tests.sync.support import sequence, tombstones


@dataclass
class Parents:
    """A project with a user, a team and the user's membership, numbered already."""

    project: Project
    user: str
    team: str

    @property
    def params(self) -> dict[str, Any]:
        return {
            "t": self.project.tenancy_id,
            "p": self.project.id,
            "u": self.user,
            "team": self.team,
        }


@pytest.fixture
def parents(sync_db: str, sync_http: httpx.Client) -> Parents:
    project = create_project(sync_db)
    user, team = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "INSERT INTO users (tenancy_id, id) VALUES (%s, %s)", (project.tenancy_id, user)
        )
        conn.execute(
            "INSERT INTO teams (tenancy_id, id, display_name) VALUES (%s, %s, 'T')",
            (project.tenancy_id, team),
        )
        conn.execute(
            "INSERT INTO team_members (tenancy_id, team_id, user_id) VALUES (%s, %s, %s)",
            (project.tenancy_id, team, user),
        )
    sequence(sync_http)
    return Parents(project, user, team)


@dataclass(frozen=True)
class Case:
    mapping: str
    table: str
    insert: str  # %(t)s tenancy, %(p)s project, %(u)s user, %(team)s team, %(id)s a new id
    update: str
    delete: str
    key: dict[str, str]  # the tombstone's row_key: column -> params name
    where: str  # the row, by %(name)s params

    def row_key(self, params: dict[str, Any]) -> dict[str, str]:
        return {column: params[name] for column, name in self.key.items()}


_BY_ID = "tenancy_id = %(t)s AND id = %(id)s"
CASES = [
    Case("users", "users",
         "INSERT INTO users (tenancy_id, id) VALUES (%(t)s, %(id)s)",
         "UPDATE users SET display_name = 'changed' WHERE " + _BY_ID,
         "DELETE FROM users WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
    Case("contact_channels", "contact_channels",
         "INSERT INTO contact_channels (tenancy_id, id, user_id, value)"
         " VALUES (%(t)s, %(id)s, %(u)s, 'x@example.com')",
         "UPDATE contact_channels SET is_verified = true WHERE " + _BY_ID,
         "DELETE FROM contact_channels WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
    Case("teams", "teams",
         "INSERT INTO teams (tenancy_id, id, display_name) VALUES (%(t)s, %(id)s, 'A')",
         "UPDATE teams SET display_name = 'B' WHERE " + _BY_ID,
         "DELETE FROM teams WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
    Case("team_member_profiles", "team_members",
         "INSERT INTO users (tenancy_id, id) VALUES (%(t)s, %(id)s);"
         " INSERT INTO team_members (tenancy_id, team_id, user_id)"
         " VALUES (%(t)s, %(team)s, %(id)s)",
         "UPDATE team_members SET display_name = 'M'"
         " WHERE tenancy_id = %(t)s AND team_id = %(team)s AND user_id = %(id)s",
         "DELETE FROM team_members"
         " WHERE tenancy_id = %(t)s AND team_id = %(team)s AND user_id = %(id)s",
         {"team_id": "team", "user_id": "id"},
         "tenancy_id = %(t)s AND team_id = %(team)s AND user_id = %(id)s"),
    Case("team_permissions", "team_member_permissions",
         "INSERT INTO team_member_permissions (tenancy_id, team_id, user_id, permission_id)"
         " VALUES (%(t)s, %(team)s, %(u)s, 'perm_' || replace(%(key)s, '-', '_'))",
         "UPDATE team_member_permissions SET created_at = now() - interval '1 day'"
         " WHERE tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')",
         "DELETE FROM team_member_permissions"
         " WHERE tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')",
         {"team_id": "team", "user_id": "u", "permission_id": "perm"},
         "tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')"),
    Case("team_invitations", "verification_codes",
         "INSERT INTO verification_codes"
         " (project_id, id, type, code_hash, nonce_hash, expires_at)"
         " VALUES (%(p)s, %(id)s, 'TEAM_INVITATION', decode(md5(%(key)s), 'hex'),"
         " decode(md5(%(key)s), 'hex'), now() + interval '1 day')",
         "UPDATE verification_codes SET used_at = now() WHERE project_id = %(p)s AND id = %(id)s",
         "DELETE FROM verification_codes WHERE project_id = %(p)s AND id = %(id)s",
         {"id": "id"}, "project_id = %(p)s AND id = %(id)s"),
    Case("email_outboxes", "email_outbox",
         "INSERT INTO email_outbox (id, tenancy_id, template, to_email)"
         " VALUES (%(id)s, %(t)s, 'custom_html', 'x@example.com')",
         "UPDATE email_outbox SET status = 'skipped' WHERE " + _BY_ID,
         "DELETE FROM email_outbox WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
    Case("project_permissions", "project_user_permissions",
         "INSERT INTO project_user_permissions (tenancy_id, user_id, permission_id)"
         " VALUES (%(t)s, %(u)s, 'perm_' || replace(%(key)s, '-', '_'))",
         "UPDATE project_user_permissions SET created_at = now() - interval '1 day'"
         " WHERE tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')",
         "DELETE FROM project_user_permissions"
         " WHERE tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')",
         {"user_id": "u", "permission_id": "perm"},
         "tenancy_id = %(t)s AND permission_id = 'perm_' || replace(%(key)s, '-', '_')"),
    Case("refresh_tokens", "refresh_tokens",
         "INSERT INTO refresh_tokens (tenancy_id, id, user_id, token_hash)"
         " VALUES (%(t)s, %(id)s, %(u)s, decode(md5(%(key)s), 'hex'))",
         "UPDATE refresh_tokens SET last_active_at = now() + interval '1 minute' WHERE " + _BY_ID,
         "DELETE FROM refresh_tokens WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
    Case("connected_accounts", "oauth_accounts",
         "INSERT INTO oauth_accounts"
         " (tenancy_id, id, user_id, provider_config_id, provider_account_id)"
         " VALUES (%(t)s, %(id)s, %(u)s, 'github', %(key)s)",
         "UPDATE oauth_accounts SET email = 'y@example.com' WHERE " + _BY_ID,
         "DELETE FROM oauth_accounts WHERE " + _BY_ID, {"id": "id"}, _BY_ID),
]  # fmt: skip


def _run(database_url: str, statement: str, params: dict[str, Any]) -> None:
    with psycopg.connect(database_url) as conn:
        for part in statement.split("; "):
            conn.execute(part, params)  # type: ignore[arg-type]


def _marks(database_url: str, case: Case, params: dict[str, Any]) -> list[Any]:
    """sync_sequence_id of the case's row (none once deleted)."""
    with psycopg.connect(database_url) as conn:
        query = f"SELECT sync_sequence_id FROM {case.table} WHERE {case.where}"
        return [row[0] for row in conn.execute(query, params)]  # type: ignore[call-overload]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mapping)
def test_insert_update_delete_are_captured_and_numbered(
    sync_db: str, sync_http: httpx.Client, parents: Parents, case: Case
) -> None:
    new_id = str(uuid.uuid4())
    params = {
        **parents.params,
        "id": new_id,
        "key": new_id,
        "perm": "perm_" + new_id.replace("-", "_"),
    }

    _run(sync_db, case.insert, params)
    assert _marks(sync_db, case, params) == [None]
    sequence(sync_http)
    (first,) = _marks(sync_db, case, params)
    assert first is not None

    _run(sync_db, case.update, params)
    assert _marks(sync_db, case, params) == [None]
    sequence(sync_http)
    (second,) = _marks(sync_db, case, params)
    assert second > first  # a row changed after numbering gets a new, higher id

    _run(sync_db, case.delete, params)
    assert _marks(sync_db, case, params) == []
    stones = tombstones(sync_db, parents.project.tenancy_id, case.mapping)
    assert stones == [(case.row_key(params), None)]
    sequence(sync_http)
    ((_, numbered),) = tombstones(sync_db, parents.project.tenancy_id, case.mapping)
    assert numbered > second


def _user_rows(database_url: str, project: Project, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO users (tenancy_id, id) SELECT %s, unnest(%s::uuid[])",
            (project.tenancy_id, ids),
        )
    return ids


def test_a_bulk_update_marks_every_row_and_each_gets_its_own_id(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    project = parents.project
    _user_rows(sync_db, project, 40)
    sequence(sync_http)
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "UPDATE users SET server_metadata = '{\"bulk\": true}' WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
    count = "SELECT count(*) FROM users WHERE tenancy_id = %s AND sync_sequence_id IS NULL"
    assert query_value(sync_db, count, (project.tenancy_id,)) == 41
    sequence(sync_http)
    assert query_value(sync_db, count, (project.tenancy_id,)) == 0
    distinct = "SELECT count(DISTINCT sync_sequence_id) FROM users WHERE tenancy_id = %s"
    assert query_value(sync_db, distinct, (project.tenancy_id,)) == 41


def test_an_update_that_changes_nothing_keeps_the_rows_number(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    where = "tenancy_id = %s AND id = %s"
    args = (parents.project.tenancy_id, parents.user)
    before = query_value(sync_db, f"SELECT sync_sequence_id FROM users WHERE {where}", args)
    with psycopg.connect(sync_db) as conn:
        conn.execute(f"UPDATE users SET display_name = display_name WHERE {where}", args)
    after = query_value(sync_db, f"SELECT sync_sequence_id FROM users WHERE {where}", args)
    assert before is not None
    assert after == before


def test_deleting_a_user_tombstones_everything_the_delete_cascades_to(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    p = {**parents.params, "id": str(uuid.uuid4()), "key": str(uuid.uuid4())}
    _run(sync_db, CASES[1].insert, p)  # a contact channel
    _run(sync_db, CASES[4].insert, {**p, "key": "a"})  # a team permission perm_a
    _run(sync_db, CASES[7].insert, {**p, "key": "b"})  # a project permission perm_b
    _run(sync_db, CASES[8].insert, p)  # a session
    _run(sync_db, CASES[9].insert, p)  # an OAuth account
    sequence(sync_http)
    with psycopg.connect(sync_db) as conn:
        conn.execute("DELETE FROM users WHERE tenancy_id = %(t)s AND id = %(u)s", p)

    def keys(mapping: str) -> list[Any]:
        stones = tombstones(sync_db, parents.project.tenancy_id, mapping)
        assert all(number is None for _, number in stones)
        return [key for key, _ in stones]

    user, team = parents.user, parents.team
    assert keys("users") == [{"id": user}]
    assert keys("contact_channels") == [{"id": p["id"]}]
    assert keys("team_member_profiles") == [{"team_id": team, "user_id": user}]
    assert keys("team_permissions") == [
        {"team_id": team, "user_id": user, "permission_id": "perm_a"}
    ]
    assert keys("project_permissions") == [{"user_id": user, "permission_id": "perm_b"}]
    assert keys("refresh_tokens") == [{"id": p["id"]}]
    assert keys("connected_accounts") == [{"id": p["id"]}]
    assert keys("teams") == []  # the team stays


def test_other_verification_codes_are_never_numbered_nor_tombstoned(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    code = str(uuid.uuid4())
    insert = CASES[5].insert.replace("'TEAM_INVITATION'", "'PASSWORD_RESET'")
    params = {**parents.params, "id": code, "key": code}
    _run(sync_db, insert, params)
    sequence(sync_http)
    where = "project_id = %s AND id = %s"
    number = f"SELECT sync_sequence_id FROM verification_codes WHERE {where}"
    assert query_value(sync_db, number, (parents.project.id, code)) is None
    _run(sync_db, CASES[5].delete, params)
    assert tombstones(sync_db, parents.project.tenancy_id, "team_invitations") == []


def test_a_primary_email_change_marks_its_user_changed(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    channel = str(uuid.uuid4())
    args = (parents.project.tenancy_id, parents.user)
    user_mark = "SELECT sync_sequence_id FROM users WHERE tenancy_id = %s AND id = %s"
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "INSERT INTO contact_channels (tenancy_id, id, user_id, value, is_primary)"
            " VALUES (%s, %s, %s, 'p@example.com', true)",
            (*args[:1], channel, parents.user),
        )
    assert query_value(sync_db, user_mark, args) is None
    sequence(sync_http)
    for change in (
        "UPDATE contact_channels SET is_verified = true WHERE id = %s",
        "UPDATE contact_channels SET value = 'q@example.com' WHERE id = %s",
        "DELETE FROM contact_channels WHERE id = %s",
    ):
        assert query_value(sync_db, user_mark, args) is not None
        with psycopg.connect(sync_db) as conn:
            conn.execute(change, (channel,))
        assert query_value(sync_db, user_mark, args) is None, change
        sequence(sync_http)


def test_deleting_a_project_leaves_no_tombstones(sync_db: str, parents: Parents) -> None:
    _user_rows(sync_db, parents.project, 3)
    with psycopg.connect(sync_db) as conn:
        conn.execute("DELETE FROM projects WHERE id = %s", (parents.project.id,))
    count = "SELECT count(*) FROM sync_tombstones WHERE tenancy_id = %s"
    assert query_value(sync_db, count, (parents.project.tenancy_id,)) == 0


def test_a_row_locked_by_a_writer_is_numbered_after_its_commit(
    sync_db: str, sync_http: httpx.Client, parents: Parents
) -> None:
    (locked,) = _user_rows(sync_db, parents.project, 1)
    sequence(sync_http)
    args = (parents.project.tenancy_id, locked)
    number = "SELECT sync_sequence_id FROM users WHERE tenancy_id = %s AND id = %s"
    first = query_value(sync_db, number, args)
    with psycopg.connect(sync_db) as writer:
        writer.execute(
            "UPDATE users SET display_name = 'writing' WHERE tenancy_id = %s AND id = %s", args
        )
        other = _user_rows(sync_db, parents.project, 1)
        sequence(sync_http)  # skips the locked row instead of waiting for it
        assert query_value(sync_db, number, (parents.project.tenancy_id, other[0])) is not None
        assert query_value(sync_db, number, args) == first  # the writer's change is not visible
    assert query_value(sync_db, number, args) is None  # committed: changed, not numbered
    sequence(sync_http)
    assert query_value(sync_db, number, args) > first
