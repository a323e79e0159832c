"""Email verification: at sign-up, on request for a contact channel, and verifying by code."""

from __future__ import annotations

import httpx

from tests.api.helpers import as_user, assert_known_error, sign_up, unique_email
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, code_in

CALLBACK = "http://localhost:3000/handler/email-verification"


def sign_up_verifying(http: httpx.Client, project: Project, email: str) -> dict[str, str]:
    return sign_up(http, project, email, verification_callback_url=CALLBACK)


def me(http: httpx.Client, project: Project, access_token: str) -> dict[str, object]:
    r = http.get("/api/v1/users/me", headers=as_user(project, access_token))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def send_channel_code(
    http: httpx.Client,
    headers: dict[str, str],
    user_id: str,
    channel_id: str,
    callback: str = CALLBACK,
) -> httpx.Response:
    """Ask for a verification mail for the contact channel (``user_id`` may be ``me``)."""
    return http.post(
        f"/api/v1/contact-channels/{user_id}/{channel_id}/send-verification-code",
        headers=headers,
        json={"callback_url": callback},
    )


def verify(http: httpx.Client, project: Project, code: str) -> httpx.Response:
    """Verify a contact channel with a mailed code (no user needed)."""
    return http.post(
        "/api/v1/contact-channels/verify", headers=project.headers(), json={"code": code}
    )


def primary_channel_id(http: httpx.Client, project: Project, user_id: str) -> str:
    """The id of the user's primary contact channel, as the server lists it."""
    r = http.get(
        "/api/v1/contact-channels", headers=project.headers("server"), params={"user_id": user_id}
    )
    assert r.status_code == 200, r.text
    [primary] = [channel for channel in r.json()["items"] if channel["is_primary"]]
    return str(primary["id"])


def test_sign_up_with_a_callback_mails_a_link_that_verifies_the_email(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("verify")
    tokens = sign_up_verifying(http, project, email)
    assert me(http, project, tokens["access_token"])["primary_email_verified"] is False

    [message] = mail_sink.wait_for(email)
    assert "Verify your email" in message["subject"]
    code = code_in(message)

    check = http.post(
        "/api/v1/contact-channels/verify/check-code",
        headers=project.headers(),
        json={"code": code},
    )
    assert check.json() == {"is_code_valid": True}
    r = verify(http, project, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    assert me(http, project, tokens["access_token"])["primary_email_verified"] is True

    again = verify(http, project, code)
    assert_known_error(again, "VERIFICATION_CODE_ALREADY_USED", 409)


def test_sign_up_without_a_callback_sends_nothing(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("quiet")
    sign_up(http, project, email)
    marker = unique_email("marker")  # a later email, to know the worker has caught up
    sign_up_verifying(http, project, marker)
    mail_sink.wait_for(marker)
    assert mail_sink.messages(email) == []


def test_send_verification_code_for_a_channel_then_verify(
    http: httpx.Client,
    project: Project,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
) -> None:
    email = unique_email("channel")
    tokens = sign_up(http, project, email)
    channel_id = primary_channel_id(http, project, tokens["user_id"])
    user = as_user(project, tokens["access_token"])

    sent = send_channel_code(http, user, "me", channel_id)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"success": True}
    code = code_in(mail_sink.wait_for(email)[0])
    verified = verify(http, project, code)
    assert verified.status_code == 200, verified.text
    assert me(http, project, tokens["access_token"])["primary_email_verified"] is True

    # Verified already: asking again is the contract's error, and no mail goes out.
    again = send_channel_code(http, user, "me", channel_id)
    assert_known_error(again, "EMAIL_ALREADY_VERIFIED", 409)


def test_channel_rules_other_users_unknown_channels_untrusted_callbacks(
    http: httpx.Client, project: Project
) -> None:
    a = sign_up(http, project, unique_email("a"))
    b = sign_up(http, project, unique_email("b"))
    b_channel = primary_channel_id(http, project, b["user_id"])
    as_a = as_user(project, a["access_token"])

    other = send_channel_code(http, as_a, b["user_id"], b_channel)
    assert other.status_code == 403
    missing = send_channel_code(http, as_a, "me", b_channel)
    assert missing.status_code == 404
    untrusted = send_channel_code(
        http, project.headers("server"), b["user_id"], b_channel, "https://evil.example/verify"
    )
    assert_known_error(untrusted, "REDIRECT_URL_NOT_WHITELISTED", 400)
    bad_id = send_channel_code(http, as_a, "me", "not-a-uuid")
    assert_known_error(bad_id, "SCHEMA_ERROR", 400)


def test_deprecated_route_checks_the_primary_email(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    email = unique_email("legacy")
    tokens = sign_up(http, project, email)
    user = as_user(project, tokens["access_token"])
    wrong = http.post(
        "/api/v1/contact-channels/send-verification-code",
        headers=user,
        json={"email": "someone-else@example.com", "callback_url": CALLBACK},
    )
    assert_known_error(
        wrong,
        "EMAIL_IS_NOT_PRIMARY_EMAIL",
        400,
        {"email": "someone-else@example.com", "primary_email": email},
    )
    ok = http.post(
        "/api/v1/contact-channels/send-verification-code",
        headers=user,
        json={"email": email, "callback_url": CALLBACK},
    )
    assert ok.status_code == 200, ok.text
    assert mail_sink.wait_for(email)


def test_code_mailed_to_an_old_address_does_not_verify_the_new_one(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    old = unique_email("old")
    tokens = sign_up_verifying(http, project, old)
    code = code_in(mail_sink.wait_for(old)[0])
    new = unique_email("new")
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, tokens["access_token"]),
        json={"primary_email": new},
    )
    assert r.status_code == 200, r.text
    refused = verify(http, project, code)
    assert refused.status_code == 400
    user = http.get(f"/api/v1/users/{tokens['user_id']}", headers=project.headers("server"))
    assert user.json()["primary_email"] == new
    assert user.json()["primary_email_verified"] is False
