"""Reset codes retire each other and die with a password change; sign-in and reset codes live one
hour by default (configurable), e-mail verification codes keep Stack Auth's seven days."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import psycopg
import pytest

from authstack_core.domain import verification
from authstack_core.domain.verification import CodeType
from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    create_session,
    create_user,
    set_password,
    sign_up,
    unique_email,
    update_password,
)
from tests.conftest import ApiServer, Project, running_api
from tests.factories import query_rows
from tests.mail import MailSink, WorkerProcess, code_in

RESET_CALLBACK = "http://localhost:3000/handler/password-reset"
OTP_CALLBACK = "http://localhost:3000/handler/magic-link-callback"
VERIFY_CALLBACK = "http://localhost:3000/handler/email-verification"
NEW_PASSWORD = "a-brand-new-password-7"


def send_reset(http: httpx.Client, project: Project, email: str) -> None:
    r = http.post(
        "/api/v1/auth/password/send-reset-code",
        headers=project.headers(),
        json={"email": email, "callback_url": RESET_CALLBACK},
    )
    assert r.status_code == 200, r.text


def reset(http: httpx.Client, project: Project, code: str, password: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": code, "password": password},
    )


def check_reset(http: httpx.Client, project: Project, code: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/password/reset/check-code", headers=project.headers(), json={"code": code}
    )


def signs_in(http: httpx.Client, project: Project, email: str, password: str) -> bool:
    r = http.post(
        "/api/v1/auth/password/sign-in",
        headers=project.headers(),
        json={"email": email, "password": password},
    )
    return r.status_code == 200


def test_a_newer_reset_code_retires_the_older_one(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("two-codes")
    sign_up(http, project, email)
    send_reset(http, project, email)
    first = code_in(mail_sink.wait_for(email)[0])
    assert check_reset(http, project, first).status_code == 200

    send_reset(http, project, email)
    second = code_in(mail_sink.wait_for(email, count=2)[1])
    assert first != second
    assert_known_error(check_reset(http, project, first), "VERIFICATION_CODE_EXPIRED", 400)
    assert_known_error(reset(http, project, first, NEW_PASSWORD), "VERIFICATION_CODE_EXPIRED", 400)
    assert signs_in(http, project, email, PASSWORD)  # the refused code changed nothing

    assert reset(http, project, second, NEW_PASSWORD).status_code == 200
    assert_known_error(
        reset(http, project, first, "third-password-3"), "VERIFICATION_CODE_EXPIRED", 400
    )
    assert_known_error(
        reset(http, project, second, "third-password-3"), "VERIFICATION_CODE_ALREADY_USED", 409
    )
    assert signs_in(http, project, email, NEW_PASSWORD)


def _make_reset_codes(database_url: str, project: Project, user_id: str, email: str) -> list[str]:
    """Two live reset codes at once, as two requests racing each other could leave them."""

    async def make() -> list[str]:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            codes = [
                await verification.create_code(
                    conn,
                    project_id=project.id,
                    type=CodeType.PASSWORD_RESET,
                    data={"user_id": user_id, "email": email},
                    method={"email": email},
                    expires_in=timedelta(hours=1),
                    redirect_url=RESET_CALLBACK,
                )
                for _ in range(2)
            ]
            await conn.commit()
            return codes

    # In a thread of its own: the session's browser (Playwright's sync API) keeps an event loop
    # running on the main thread, where asyncio.run() would refuse to start.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


def test_completing_a_reset_retires_the_users_other_live_codes(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    email = unique_email("race")
    tokens = sign_up(http, project, email)
    other_user = sign_up(http, project)
    first, second = _make_reset_codes(migrated_database, project, tokens["user_id"], email)
    [bystander] = _make_reset_codes(
        migrated_database, project, other_user["user_id"], unique_email()
    )[:1]
    assert check_reset(http, project, first).status_code == 200

    assert reset(http, project, second, NEW_PASSWORD).status_code == 200
    assert_known_error(
        reset(http, project, first, "other-password-4"), "VERIFICATION_CODE_EXPIRED", 400
    )
    assert signs_in(http, project, email, NEW_PASSWORD)
    # Another user's code is untouched.
    assert check_reset(http, project, bystander).status_code == 200


def _change_by_update(http: httpx.Client, project: Project, tokens: dict[str, Any]) -> None:
    r = update_password(http, as_user(project, tokens["access_token"]), PASSWORD, NEW_PASSWORD)
    assert r.status_code == 200, r.text


def _change_by_server_patch(http: httpx.Client, project: Project, tokens: dict[str, Any]) -> None:
    r = http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text


def _change_by_hash_import(http: httpx.Client, project: Project, tokens: dict[str, Any]) -> None:
    hashed = bcrypt.hashpw(NEW_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    r = http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"password_hash": hashed},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "change", [_change_by_update, _change_by_server_patch, _change_by_hash_import]
)
def test_a_password_change_retires_outstanding_reset_codes(
    http: httpx.Client,
    project: Project,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
    change: Any,
) -> None:
    email = unique_email("changed")
    tokens = sign_up(http, project, email)
    send_reset(http, project, email)
    code = code_in(mail_sink.wait_for(email)[0])

    change(http, project, tokens)
    assert_known_error(
        reset(http, project, code, "attacker-password-1"), "VERIFICATION_CODE_EXPIRED", 400
    )
    assert signs_in(http, project, email, NEW_PASSWORD)


def test_setting_a_first_password_retires_outstanding_reset_codes(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("first-password")
    user = create_user(http, project, primary_email=email, primary_email_auth_enabled=True)
    send_reset(http, project, email)
    code = code_in(mail_sink.wait_for(email)[0])
    session = create_session(http, project, user["id"])
    r = set_password(http, as_user(project, session["access_token"]), NEW_PASSWORD)
    assert r.status_code == 200, r.text
    assert_known_error(
        reset(http, project, code, "attacker-password-1"), "VERIFICATION_CODE_EXPIRED", 400
    )


def _lifetimes(database_url: str, project: Project) -> dict[str, list[float]]:
    rows = query_rows(
        database_url,
        "SELECT type, extract(epoch FROM expires_at - created_at) FROM verification_codes "
        "WHERE project_id = %s",
        (project.id,),
    )
    out: dict[str, list[float]] = {}
    for kind, seconds in rows:
        out.setdefault(kind, []).append(float(seconds))
    return out


def test_sign_in_and_reset_codes_live_an_hour_verification_codes_a_week(
    http: httpx.Client, make_project: Any, migrated_database: str
) -> None:
    project = make_project({"auth.otp.allowSignIn": True})
    email = unique_email("lifetimes")
    sign_up(http, project, email, verification_callback_url=VERIFY_CALLBACK)
    send_reset(http, project, email)
    r = http.post(
        "/api/v1/auth/otp/send-sign-in-code",
        headers=project.headers(),
        json={"email": unique_email("otp"), "callback_url": OTP_CALLBACK},
    )
    assert r.status_code == 200, r.text

    lifetimes = _lifetimes(migrated_database, project)
    assert lifetimes[CodeType.PASSWORD_RESET] == [pytest.approx(3600, abs=5)]
    assert lifetimes[CodeType.ONE_TIME_PASSWORD] == [pytest.approx(3600, abs=5)]
    assert lifetimes[CodeType.CONTACT_CHANNEL_VERIFICATION] == [pytest.approx(7 * 86400, abs=5)]


@pytest.fixture(scope="module")
def short_lived_api(migrated_database: str) -> Iterator[ApiServer]:
    """An API whose reset codes live 2 s (time-span form) and sign-in codes 2 s (bare seconds)."""
    with running_api(
        migrated_database, STACK_PASSWORD_RESET_CODE_LIFETIME="2s", STACK_SIGN_IN_CODE_LIFETIME="2"
    ) as server:
        yield server


def test_configured_lifetimes_expire_the_codes(
    short_lived_api: ApiServer,
    make_project: Any,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
) -> None:
    project = make_project({"auth.otp.allowSignIn": True})
    with short_lived_api.client() as http:
        email = unique_email("short")
        user_id = sign_up(http, project, email)["user_id"]
        # The account's address must be verified for OTP; verify it as the server may.
        http.patch(
            f"/api/v1/users/{user_id}",
            headers=project.headers("server"),
            json={"primary_email_verified": True},
        ).raise_for_status()
        started = time.monotonic()
        send_reset(http, project, email)
        r = http.post(
            "/api/v1/auth/otp/send-sign-in-code",
            headers=project.headers(),
            json={"email": email, "callback_url": OTP_CALLBACK},
        )
        assert r.status_code == 200, r.text
        messages = mail_sink.wait_for(email, count=2)
        reset_code = code_in(next(m for m in messages if "password" in m["subject"].lower()))
        otp_code = code_in(next(m for m in messages if "password" not in m["subject"].lower()))

        time.sleep(max(0.0, started + 3.0 - time.monotonic()))
        assert_known_error(check_reset(http, project, reset_code), "VERIFICATION_CODE_EXPIRED", 400)
        assert_known_error(
            http.post(
                "/api/v1/auth/otp/sign-in", headers=project.headers(), json={"code": otp_code}
            ),
            "VERIFICATION_CODE_EXPIRED",
            400,
        )
