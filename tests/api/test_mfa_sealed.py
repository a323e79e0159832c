"""TOTP secrets are sealed at rest: the column never holds the raw secret, a secret stored before
sealing still verifies and is sealed by its next sign-in, and a sealed value opens only in its
own user's row."""

from __future__ import annotations

import base64
import os

import httpx

from tests.api.helpers import PASSWORD, assert_known_error, create_user, unique_email
from tests.api.test_mfa import (
    TotpUser,
    attempt_code,
    away_from_step_edge,
    mfa_sign_in,
    totp_user,
)
from tests.conftest import Project
from tests.factories import query_row, query_value

SEALED_PREFIX = b"sealed:v1:"


def stored_secret(database_url: str, project: Project, user_id: str) -> bytes:
    value: bytes = query_value(
        database_url,
        "SELECT totp_secret FROM users WHERE tenancy_id = %s AND id = %s",
        (project.tenancy_id, user_id),
    )
    return bytes(value)


def store_secret(database_url: str, project: Project, user_id: str, value: bytes) -> None:
    row = query_row(
        database_url,
        "UPDATE users SET totp_secret = %s WHERE tenancy_id = %s AND id = %s RETURNING id",
        (value, project.tenancy_id, user_id),
    )
    assert row is not None


def test_a_secret_set_by_the_user_or_the_server_is_stored_sealed(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    by_user = totp_user(http, project)
    secret = os.urandom(20)
    by_server = create_user(
        http,
        project,
        primary_email=unique_email("sealed"),
        password=PASSWORD,
        totp_secret_base64=base64.b64encode(secret).decode(),
    )
    for user_id, raw in ((by_user.user_id, by_user.secret), (by_server["id"], secret)):
        stored = stored_secret(migrated_database, project, user_id)
        assert stored.startswith(SEALED_PREFIX)
        assert raw not in stored
    away_from_step_edge()
    done = mfa_sign_in(http, project, attempt_code(http, project, by_user), by_user.code())
    assert done.status_code == 200, done.text


def test_a_secret_stored_before_sealing_verifies_and_is_sealed_by_its_sign_in(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = totp_user(http, project)
    store_secret(migrated_database, project, user.user_id, user.secret)  # as stored before
    away_from_step_edge()
    done = mfa_sign_in(http, project, attempt_code(http, project, user), user.code())
    assert done.status_code == 200, done.text
    stored = stored_secret(migrated_database, project, user.user_id)
    assert stored.startswith(SEALED_PREFIX)
    assert user.secret not in stored
    # And the sealed secret signs in from then on (a later step: the one above is spent).
    later = TotpUser(user.email, user.user_id, user.secret)
    code = attempt_code(http, project, later)
    again = mfa_sign_in(http, project, code, later.code(offset_steps=1))
    assert again.status_code == 200, again.text


def test_a_sealed_secret_copied_to_another_row_verifies_nothing(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    victim = totp_user(http, project)
    attacker = totp_user(http, project)
    copied = stored_secret(migrated_database, project, victim.user_id)
    store_secret(migrated_database, project, attacker.user_id, copied)
    away_from_step_edge()
    # The victim's codes do not pass for the row the sealed bytes were copied into.
    code = attempt_code(http, project, attacker)
    r = mfa_sign_in(http, project, code, victim.code())
    assert_known_error(r, "INVALID_TOTP_CODE", 400)
