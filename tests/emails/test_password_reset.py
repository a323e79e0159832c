"""Password reset by emailed code, end to end: API → outbox → worker → SMTP → code → API."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    assert_sign_in_refused,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, code_in

CALLBACK = "http://localhost:3000/handler/password-reset"
NEW_PASSWORD = "a-brand-new-password-7"


def send_reset(http: httpx.Client, project: Project, email: str, callback: str = CALLBACK):
    return http.post(
        "/api/v1/auth/password/send-reset-code",
        headers=project.headers(),
        json={"email": email, "callback_url": callback},
    )


def test_reset_code_from_the_mailbox_sets_a_new_password_and_ends_every_session(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("reset")
    tokens = sign_up(http, project, email)

    r = send_reset(http, project, email)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": "maybe, only if user with e-mail exists"}

    [message] = mail_sink.wait_for(email)
    assert message["rcpt_tos"] == [email]
    assert "Reset your password" in message["subject"]
    code = code_in(message)
    assert f"{CALLBACK}?code={code}" in message["text"]
    assert f"{CALLBACK}?code={code}" in message["html"]

    check = http.post(
        "/api/v1/auth/password/reset/check-code", headers=project.headers(), json={"code": code}
    )
    assert check.status_code == 200, check.text
    assert check.json() == {"is_code_valid": True}

    r = http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": code.upper(), "password": NEW_PASSWORD},  # codes are case-insensitive
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}

    assert_sign_in_refused(http, project, email, PASSWORD)
    new = sign_in_with_password(http, project, email, NEW_PASSWORD)
    assert new.status_code == 200, new.text

    # The reset ended the session that existed before it.
    refresh = http.post(
        "/api/v1/auth/sessions/current/refresh",
        headers=project.headers(**{"x-stack-refresh-token": tokens["refresh_token"]}),
    )
    assert_known_error(refresh, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)

    # The link reached the address: it counts as verified now.
    me = http.get("/api/v1/users/me", headers=as_user(project, new.json()["access_token"]))
    assert me.json()["primary_email_verified"] is True

    # The worker logged the delivery by ids, never the link or the code.
    log = mail_worker.log()
    assert message["message_id"].strip("<>").split("@")[0] in log
    assert code not in log
    assert "code=" not in log

    # Used once.
    again = http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": code, "password": "yet-another-password-9"},
    )
    assert_known_error(again, "VERIFICATION_CODE_ALREADY_USED", 409)


def test_unknown_email_gets_the_same_answer_in_about_the_same_time_and_no_mail(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    known = unique_email("known")
    sign_up(http, project, known)
    unknown = unique_email("nobody")

    timings: dict[str, list[float]] = {known: [], unknown: []}
    bodies = set()
    for _ in range(4):
        for email in (known, unknown):
            started = time.perf_counter()
            r = send_reset(http, project, email)
            timings[email].append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
            bodies.add(r.content)
    assert len(bodies) == 1
    gap = abs(statistics.median(timings[known]) - statistics.median(timings[unknown]))
    assert gap < 0.1, timings
    assert min(timings[unknown]) >= 0.35, "the unknown address also waits for the floor"

    mail_sink.wait_for(known, count=4)
    assert mail_sink.messages(unknown) == []


def test_callback_outside_the_trusted_domains_is_refused_before_anything_is_sent(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email("evil")
    sign_up(http, project, email)
    r = send_reset(http, project, email, "https://evil.example.com/steal")
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)


def test_backslash_callback_that_a_browser_sends_elsewhere_gets_no_mail(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    """The reported attack: urllib reads the host as ``attacker.test\\.localhost`` (allowed as
    localhost), a browser as ``attacker.test``. Refused: the only mail is the honest one after."""
    email = unique_email("victim")
    sign_up(http, project, email)
    r = send_reset(http, project, email, "http://attacker.test\\.localhost/steal")
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)
    assert send_reset(http, project, email).status_code == 200
    [message] = mail_sink.wait_for(email)
    assert f"{CALLBACK}?code={code_in(message)}" in message["text"]
    assert "attacker" not in message["text"]
    assert "attacker" not in message["html"]


def test_mailed_link_is_the_browser_serialisation_of_the_checked_url(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("normalised")
    sign_up(http, project, email)
    r = send_reset(http, project, email, "HTTP://LocalHost:3000/x/../handler/password-reset")
    assert r.status_code == 200, r.text
    [message] = mail_sink.wait_for(email)
    assert f"{CALLBACK}?code={code_in(message)}" in message["text"]
    assert "LocalHost" not in message["text"]
    assert "/x/.." not in message["text"]


def test_reset_with_a_wrong_or_malformed_code_is_the_contract_error(
    http: httpx.Client, project: Project
) -> None:
    wrong = http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": "a" * 45, "password": NEW_PASSWORD},
    )
    assert_known_error(wrong, "VERIFICATION_CODE_NOT_FOUND", 404)
    malformed = http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": "not-a-code", "password": NEW_PASSWORD},
    )
    assert_known_error(malformed, "SCHEMA_ERROR", 400)
    short = http.post(
        "/api/v1/auth/password/reset",
        headers=project.headers(),
        json={"code": "a" * 45, "password": "short"},
    )
    assert_known_error(short, "PASSWORD_TOO_SHORT", 400, {"min_length": 8})
