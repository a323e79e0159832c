"""Email OTP / magic-link sign-in, end to end through the mailbox."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
import pytest

from tests.api.helpers import as_user, assert_known_error, create_user, sign_up, unique_email
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, code_in, otp_in

CALLBACK = "http://localhost:3000/handler/magic-link-callback"
OTP_ON = {"auth.otp.allowSignIn": True}


@pytest.fixture
def otp_project(make_project: Any) -> Project:
    project: Project = make_project(OTP_ON)
    return project


def send_code(http: httpx.Client, project: Project, email: str, callback: str = CALLBACK):
    return http.post(
        "/api/v1/auth/otp/send-sign-in-code",
        headers=project.headers(),
        json={"email": email, "callback_url": callback},
    )


def sign_in(http: httpx.Client, project: Project, code: str) -> httpx.Response:
    return http.post("/api/v1/auth/otp/sign-in", headers=project.headers(), json={"code": code})


def test_otp_from_the_mailbox_plus_nonce_signs_a_new_user_up(
    http: httpx.Client, otp_project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("otp")
    r = send_code(http, otp_project, email)
    assert r.status_code == 200, r.text
    nonce = r.json()["nonce"]
    assert len(nonce) == 39

    [message] = mail_sink.wait_for(email)
    otp = otp_in(message)
    assert otp == otp.upper()
    assert len(otp) == 6
    assert otp in message["subject"]
    # The link carries the whole code: the OTP's characters followed by the nonce.
    assert code_in(message) == otp.lower() + nonce

    check = http.post(
        "/api/v1/auth/otp/sign-in/check-code",
        headers=otp_project.headers(),
        json={"code": otp.lower() + nonce},
    )
    assert check.json() == {"is_code_valid": True}

    r = sign_in(http, otp_project, otp.lower() + nonce)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["is_new_user"] is True
    assert set(body) == {"access_token", "refresh_token", "user_id", "is_new_user"}
    me = http.get("/api/v1/users/me", headers=as_user(otp_project, body["access_token"])).json()
    assert me["id"] == body["user_id"]
    assert me["primary_email"] == email
    assert me["primary_email_verified"] is True
    assert me["otp_auth_enabled"] is True
    assert me["has_password"] is False

    assert_known_error(
        sign_in(http, otp_project, otp.lower() + nonce), "VERIFICATION_CODE_ALREADY_USED", 409
    )


def test_magic_link_code_signs_an_existing_verified_user_in(
    http: httpx.Client, otp_project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("magic")
    first = send_code(http, otp_project, email)
    assert first.status_code == 200
    first_user = sign_in(http, otp_project, code_in(mail_sink.wait_for(email)[0])).json()

    assert send_code(http, otp_project, email).status_code == 200
    second_mail = mail_sink.wait_for(email, count=2)[1]
    r = sign_in(http, otp_project, code_in(second_mail))
    assert r.status_code == 200, r.text
    assert r.json()["is_new_user"] is False
    assert r.json()["user_id"] == first_user["user_id"]


def test_unverified_password_account_cannot_be_taken_over_by_otp(
    http: httpx.Client, otp_project: Project, mail_sink: MailSink
) -> None:
    email = unique_email("victim")
    sign_up(http, otp_project, email)  # a password account whose email is not verified
    r = send_code(http, otp_project, email)
    assert_known_error(
        r,
        "USER_EMAIL_ALREADY_EXISTS",
        409,
        {"email": email, "would_work_if_email_was_verified": True},
    )


def test_otp_disabled_is_403(http: httpx.Client, project: Project) -> None:
    r = send_code(http, project, unique_email())  # the default project has OTP off
    assert r.status_code == 403
    assert "not enabled" in r.text


def test_with_sign_up_off_a_new_address_is_refused_only_to_the_mailbox_holder(
    http: httpx.Client, make_project: Any, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    """Sending answers as for an existing account (no enumeration); using the code says no."""
    closed = make_project({**OTP_ON, "auth.allowSignUp": False})
    member = unique_email("member")
    create_user(
        http,
        closed,
        primary_email=member,
        primary_email_verified=True,
        primary_email_auth_enabled=True,
    )
    stranger = unique_email("stranger")

    answers = [send_code(http, closed, email) for email in (member, stranger)]
    assert [r.status_code for r in answers] == [200, 200]
    assert [sorted(r.json()) for r in answers] == [["nonce"], ["nonce"]]
    assert [len(r.json()["nonce"]) for r in answers] == [39, 39]

    r = sign_in(http, closed, code_in(mail_sink.wait_for(stranger)[0]))
    assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)
    r = sign_in(http, closed, code_in(mail_sink.wait_for(member)[0]))
    assert r.status_code == 200, r.text
    assert r.json()["is_new_user"] is False


def test_new_and_existing_addresses_get_the_same_answer_in_about_the_same_time(
    http: httpx.Client, otp_project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    existing = unique_email("existing")
    first = send_code(http, otp_project, existing)
    assert sign_in(http, otp_project, code_in(mail_sink.wait_for(existing)[0])).status_code == 200

    timings: dict[str, list[float]] = {"existing": [], "new": []}
    for _ in range(3):
        for kind, email in (("existing", existing), ("new", unique_email("new"))):
            started = time.perf_counter()
            r = send_code(http, otp_project, email)
            timings[kind].append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == first.headers["content-type"]
            assert sorted(r.json()) == ["nonce"]
    assert min(min(t) for t in timings.values()) >= 0.35, timings  # the floor holds for both
    gap = abs(statistics.median(timings["existing"]) - statistics.median(timings["new"]))
    assert gap < 0.1, timings


def test_twenty_wrong_guesses_lock_the_nonce(
    http: httpx.Client, otp_project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("guess")
    nonce = send_code(http, otp_project, email).json()["nonce"]
    real = otp_in(mail_sink.wait_for(email)[0]).lower()
    wrong = "zzzzzz" if real != "zzzzzz" else "yyyyyy"
    for _ in range(20):
        assert_known_error(
            sign_in(http, otp_project, wrong + nonce), "VERIFICATION_CODE_NOT_FOUND", 404
        )
    assert_known_error(
        sign_in(http, otp_project, real + nonce), "VERIFICATION_CODE_MAX_ATTEMPTS_REACHED", 400
    )


def test_untrusted_callback_is_refused(http: httpx.Client, otp_project: Project) -> None:
    r = send_code(http, otp_project, unique_email(), "https://attacker.example/cb")
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)
