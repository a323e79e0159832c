"""Email OTP / magic-link sign-in of a user with TOTP: the code is spent, MFA still required."""

from __future__ import annotations

import base64
import os
from typing import Any

import httpx
import pyotp

from tests.api.helpers import as_user, assert_known_error, unique_email
from tests.api.test_mfa import (
    away_from_step_edge,
    latest_mfa_attempt,
    mfa_sign_in,
    session_count,
)
from tests.conftest import Project
from tests.emails.test_otp import OTP_ON, send_code, sign_in
from tests.mail import MailSink, WorkerProcess, code_in


def test_otp_sign_in_of_a_totp_user_needs_the_totp(
    http: httpx.Client,
    make_project: Any,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
    migrated_database: str,
) -> None:
    project: Project = make_project(OTP_ON)
    email = unique_email("otp-mfa")
    assert send_code(http, project, email).status_code == 200
    first = sign_in(http, project, code_in(mail_sink.wait_for(email)[0])).json()
    user_id = first["user_id"]
    secret = os.urandom(20)
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, first["access_token"]),
        json={"totp_secret_base64": base64.b64encode(secret).decode()},
    )
    assert r.json()["requires_totp_mfa"] is True
    sessions = session_count(migrated_database, project, user_id)

    assert send_code(http, project, email).status_code == 200
    magic = code_in(mail_sink.wait_for(email, count=2)[1])
    r = sign_in(http, project, magic)
    body = assert_known_error(r, "MULTI_FACTOR_AUTHENTICATION_REQUIRED", 400)
    assert "refresh_token" not in r.text
    assert session_count(migrated_database, project, user_id) == sessions
    # The emailed code is spent: replaying it yields neither tokens nor a second attempt code.
    assert_known_error(sign_in(http, project, magic), "VERIFICATION_CODE_ALREADY_USED", 409)
    assert latest_mfa_attempt(migrated_database, project)[1]["first_factor"] == "otp"

    away_from_step_edge()
    totp = pyotp.TOTP(base64.b32encode(secret).decode()).now()
    done = mfa_sign_in(http, project, body["details"]["attempt_code"], totp)
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == user_id
    assert done.json()["is_new_user"] is False
    assert session_count(migrated_database, project, user_id) == sessions + 1
