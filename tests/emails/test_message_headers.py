"""What every delivered message carries: Message-ID on the sender's domain, Date, a text part
beside the HTML, and non-ASCII names and subjects encoded so that they come back intact."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from tests.api.helpers import create_user, unique_email
from tests.conftest import Project
from tests.emails.test_unsubscribe import parse
from tests.mail import MailSink, WorkerProcess, custom_server_config, send_email

SENDER_NAME = 'Zoë Café — 東京 "Crew", Inc.'
SUBJECT = "Grüße aus Köln — 你好 ✓ and a subject long enough to be folded across several lines"


def test_non_ascii_sender_name_and_subject_round_trip_with_every_header(
    http: httpx.Client,
    make_sink: Callable[..., MailSink],
    make_project: Callable[..., Project],
    mail_worker: WorkerProcess,
) -> None:
    sink = make_sink()
    project = make_project(custom_server_config(sink, senderName=SENDER_NAME))
    address = unique_email("intl")
    user_id = create_user(http, project, primary_email=address)["id"]
    before = datetime.now(UTC)
    html = "<h1>Hello</h1><p>Read <a href='https://example.com/news'>the news</a>.</p>"
    r = send_email(http, project, [user_id], html=html, subject=SUBJECT)
    assert r.status_code == 200, r.text
    [message] = sink.wait_for(address)
    raw = sink.raw(message["id"])

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # RFC 2047 encoded words, no raw 8-bit header bytes
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    msg = parse(raw)
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (SENDER_NAME, "hello@project.test")
    assert msg["Subject"] == SUBJECT
    assert msg["To"] == address

    message_id = str(msg["Message-ID"])
    assert re.fullmatch(r"<[0-9a-f-]{36}@project\.test>", message_id), message_id
    sent_at = parsedate_to_datetime(str(msg["Date"]))
    assert before - timedelta(minutes=1) <= sent_at <= datetime.now(UTC) + timedelta(minutes=1)

    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert text is not None
    assert html_part is not None
    # The template had no text: it is derived from the HTML, links kept.
    plain = text.get_content()
    assert "Hello" in plain
    assert "the news (https://example.com/news)" in plain
    assert "<" not in plain
    assert "<h1>Hello</h1>" in html_part.get_content()


def test_every_message_has_its_own_message_id(
    http: httpx.Client, own_server: tuple[MailSink, Project], mail_worker: WorkerProcess
) -> None:
    sink, project = own_server
    address = unique_email("twice")
    user_id = create_user(http, project, primary_email=address)["id"]
    for subject in ("One", "Two"):
        r = send_email(http, project, [user_id], html="<p>x</p>", subject=subject)
        assert r.status_code == 200, r.text
    messages = sink.wait_for(address, count=2)
    ids = {str(parse(sink.raw(m["id"]))["Message-ID"]) for m in messages}
    assert len(ids) == 2
