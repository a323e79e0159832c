"""The official SDK's email flows, end to end: API → outbox → worker → SMTP sink → code → SDK.

Runs ``tests/e2e/sdk/email/*.test.js`` once per SDK version against the session API, with the
session's worker delivering to the session's mail sink, whose JSON API the scenarios read.
"""

from __future__ import annotations

import pytest

from tests.conftest import ApiServer, create_project
from tests.e2e.test_sdk import VERSIONS, NodeRun, _node_env, _scenario_files, node_ready
from tests.mail import MailSink, WorkerProcess

__all__ = ["node_ready"]


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_email_scenarios(
    node_ready: None,
    api: ApiServer,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
    version: str,
) -> None:
    """Forgot password, magic link / OTP, email verification, password update, team invitation."""
    project = create_project(api.database_url, {"auth.otp.allowSignIn": True})
    env = {**_node_env(api, project, version), "AUTHSTACK_MAIL_URL": mail_sink.http_url}
    run = NodeRun.start(f"SDK {version} email", _scenario_files("email"), env)
    try:
        run.finish()
    finally:
        run.close()
