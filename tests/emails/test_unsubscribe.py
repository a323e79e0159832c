"""Unsubscribing: Marketing mail carries a signed one-click link (RFC 8058) that works once, a user
who turned Marketing off is skipped with the reason, and Transactional mail always goes out."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from authstack_core.crypto.unsubscribe_tokens import UnsubscribeClaims, sign_unsubscribe_token
from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import SERVER_SECRET, Project, create_project
from tests.emails.test_delivery import wait_status
from tests.emails.test_notification_preferences import MARKETING, TRANSACTIONAL, enabled_of
from tests.mail import MailSink, WorkerProcess, send_email

LINK = "/api/v1/emails/unsubscribe-link"
PREFS = "/api/v1/emails/notification-preference"


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def marketing_enabled(http: httpx.Client, project: Project, user_id: str) -> bool:
    r = http.get(f"{PREFS}/{user_id}", headers=project.headers("server"))
    return enabled_of(r)["Marketing"]


def send(
    http: httpx.Client, project: Project, user_id: str, category: str | None, subject: str
) -> None:
    extra = {} if category is None else {"notification_category_name": category}
    r = send_email(http, project, [user_id], html="<p>News for you</p>", subject=subject, **extra)
    assert r.status_code == 200, r.text


def marketing_mail(
    http: httpx.Client, project: Project, sink: MailSink
) -> tuple[str, dict[str, Any], EmailMessage]:
    """A new user of ``project`` and the Marketing mail sent to them (as listed and as parsed)."""
    address = unique_email("reader")
    user_id = create_user(http, project, primary_email=address)["id"]
    send(http, project, user_id, "Marketing", "Our news")
    [message] = sink.wait_for(address)
    return user_id, message, parse(sink.raw(message["id"]))


def link_of(parsed: EmailMessage) -> str:
    """The header's one URL, as the API's path and query (the worker's base URL is the one in
    the test settings, not this API's port)."""
    value = str(parsed["List-Unsubscribe"])
    assert value[0] + value[-1] == "<>", value
    url = urlsplit(value[1:-1])
    assert f"{url.scheme}://{url.netloc}" == "http://localhost:8102"
    assert url.path == LINK
    return f"{url.path}?{url.query}"


def test_marketing_mail_has_both_headers_and_the_link_in_its_body(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    _, message, parsed = marketing_mail(http, project, sink)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(parsed["List-Unsubscribe"])[1:-1]
    # Literally, on one line: a URL folded into RFC 2047 encoded words is one no client decodes.
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in sink.raw(message["id"])
    # One link per mail, carried by the body too (HTML escapes nothing in it: base64url).
    assert len(parse_qs(urlsplit(url).query)["token"][0]) > 100
    assert f'href="{url}"' in message["html"]
    assert url in message["text"]
    assert "News for you" in message["html"]


def test_opening_the_link_asks_first_and_one_click_post_unsubscribes_once(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    user_id, _, parsed = marketing_mail(http, project, sink)
    link = link_of(parsed)

    # A GET (a mail scanner prefetching links, or the reader) changes nothing.
    page = http.get(link)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="post"' in page.text
    assert "Marketing emails" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert marketing_enabled(http, project, user_id) is True

    # The mail client's one-click POST (RFC 8058: this exact body, form-encoded).
    done = http.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    assert "Unsubscribed" in done.text
    assert marketing_enabled(http, project, user_id) is False

    # The user turns Marketing back on; the used link cannot turn it off again.
    r = http.patch(
        f"{PREFS}/{user_id}/{MARKETING}", headers=project.headers("server"), json={"enabled": True}
    )
    assert r.status_code == 200, r.text
    again = http.post(link, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200, again.text
    assert "Already unsubscribed" in again.text
    assert marketing_enabled(http, project, user_id) is True
    assert "Already unsubscribed" in http.get(link).text


def test_one_click_may_come_as_multipart_form_data(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    user_id, _, parsed = marketing_mail(http, project, sink)
    r = http.post(link_of(parsed), files={"List-Unsubscribe": (None, "One-Click")})
    assert r.status_code == 200, r.text
    assert marketing_enabled(http, project, user_id) is False


def test_an_unsubscribed_user_is_skipped_with_the_reason_but_gets_transactional_mail(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    address = unique_email("opted-out")
    user_id = create_user(http, project, primary_email=address)["id"]
    r = http.patch(
        f"{PREFS}/{user_id}/{MARKETING}", headers=project.headers("server"), json={"enabled": False}
    )
    assert r.status_code == 200, r.text
    send(http, project, user_id, "Marketing", "Big sale")
    [skipped] = wait_status(http, project, "skipped", 1)
    assert skipped["skipped_reason"] == "USER_UNSUBSCRIBED"
    assert skipped["to"]["user_id"] == user_id
    send(http, project, user_id, "Transactional", "Your receipt")
    send(http, project, user_id, None, "Your account")  # Transactional by default
    received = sink.wait_for(address, count=2)
    assert sorted(m["subject"] for m in received) == ["Your account", "Your receipt"]
    for message in received:
        parsed = parse(sink.raw(message["id"]))
        assert parsed["List-Unsubscribe"] is None  # nothing to unsubscribe from
        assert "unsubscribe" not in message["text"].lower()
    time.sleep(0.5)
    assert len(sink.messages(address)) == 2  # the Marketing mail never went out


def test_an_unknown_category_name_is_refused(
    http: httpx.Client, own_server: tuple[MailSink, Project]
) -> None:
    _, project = own_server
    user_id = create_user(http, project)["id"]
    r = send_email(
        http, project, [user_id], html="<p>x</p>", subject="x", notification_category_name="Spam"
    )
    assert (r.status_code, r.text) == (400, "Notification category not found with given name")


def token(project: Project, user_id: str, **change: Any) -> str:
    claims = UnsubscribeClaims(
        tenancy_id=uuid.UUID(project.tenancy_id),
        user_id=uuid.UUID(user_id),
        category_id=uuid.UUID(MARKETING),
        link_id=uuid.uuid4(),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    return sign_unsubscribe_token(SERVER_SECRET, dataclasses.replace(claims, **change))


def test_tampered_expired_and_forged_links_are_refused_and_change_nothing(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    user_id, _, parsed = marketing_mail(http, project, sink)
    genuine = parse_qs(urlsplit(link_of(parsed)).query)["token"][0]
    flipped = genuine[:40] + ("A" if genuine[40] != "A" else "B") + genuine[41:]
    refused = {
        "one character changed": (flipped, "VERIFICATION_CODE_NOT_FOUND", 404),
        "cut short": (genuine[:-4], "VERIFICATION_CODE_NOT_FOUND", 404),
        "padded": (genuine + "==", "VERIFICATION_CODE_NOT_FOUND", 404),
        "not base64": ("x' OR '1'='1", "VERIFICATION_CODE_NOT_FOUND", 404),
        "signed with another secret": (
            sign_unsubscribe_token(
                "another-secret-of-32-characters-at-least",
                UnsubscribeClaims(
                    uuid.UUID(project.tenancy_id),
                    uuid.UUID(user_id),
                    uuid.UUID(MARKETING),
                    uuid.uuid4(),
                    datetime.now(UTC) + timedelta(days=1),
                ),
            ),
            "VERIFICATION_CODE_NOT_FOUND",
            404,
        ),
        # Genuinely signed, but for a category no link is ever made for.
        "for Transactional": (
            token(project, user_id, category_id=uuid.UUID(TRANSACTIONAL)),
            "VERIFICATION_CODE_NOT_FOUND",
            404,
        ),
        "expired": (
            token(project, user_id, expires_at=datetime.now(UTC) - timedelta(seconds=1)),
            "VERIFICATION_CODE_EXPIRED",
            400,
        ),
    }
    for name, (value, code, status) in refused.items():
        for method in ("GET", "POST"):
            r = http.request(method, LINK, params={"token": value})
            assert r.status_code == status, (name, method, r.text)
            assert_known_error(r, code, status)
    for method in ("GET", "POST"):
        r = http.request(method, LINK)
        assert (r.status_code, r.text) == (400, "The unsubscribe link has no token.")
    assert marketing_enabled(http, project, user_id) is True
    # The genuine one still works.
    assert http.post(LINK, params={"token": genuine}).status_code == 200
    assert marketing_enabled(http, project, user_id) is False


def test_a_genuine_link_of_a_deleted_user_is_not_found(
    http: httpx.Client, own_server: tuple[MailSink, Project]
) -> None:
    _, project = own_server
    user_id = create_user(http, project)["id"]
    value = token(project, user_id)
    assert http.get(LINK, params={"token": value}).status_code == 200
    assert http.delete(f"/api/v1/users/{user_id}", headers=project.headers("server")).is_success
    for method in ("GET", "POST"):
        r = http.request(method, LINK, params={"token": value})
        assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)


def test_the_page_shows_the_project_name_as_text(
    http: httpx.Client, migrated_database: str
) -> None:
    project = create_project(migrated_database, name='<script>alert("x")</script> & Co')
    user_id = create_user(http, project)["id"]
    page = http.get(LINK, params={"token": token(project, user_id)})
    assert page.status_code == 200, page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text
    assert "<script>" not in page.text
