"""A mailed sign-in code carries Stack Auth's subject, with the project's name and the code."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import unique_email
from tests.mail import MailSink, WorkerProcess, otp_in


def test_sign_in_code_subject_names_the_project_and_the_code(
    http: httpx.Client, make_project: Any, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    project = make_project({"auth.otp.allowSignIn": True})
    email = unique_email("subject")
    r = http.post(
        "/api/v1/auth/otp/send-sign-in-code",
        headers=project.headers(),
        json={"email": email, "callback_url": "http://localhost:3000/handler/magic-link-callback"},
    )
    assert r.status_code == 200, r.text
    [message] = mail_sink.wait_for(email)
    name = http.get("/api/v1/projects/current", headers=project.headers()).json()["display_name"]
    assert message["subject"] == f"Sign in to {name}: Your code is {otp_in(message)}"
