"""The README's make targets, tried as a newcomer would: each exists, the cheap ones really run.

``make mail`` and ``make help`` run for real; ``make dev`` runs for real too (against a throwaway
database, free ports and a temporary state folder, never the developer's ``.dev/``) and must stop
cleanly on SIGTERM. The heavy targets (test, bench, install, ...) are only dry-run (``make -n``):
running ``make test`` from inside ``make test`` would recurse.

The recipes run under the project's interpreter (``uv run python``), which CI builds from the
declared minimum, Python 3.11: a script that needs a newer Python fails here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.conftest import TEST_REDIS_URL
from tests.factories import free_port, fresh_database, run_captured
from tests.mail import MailSink

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
# `make x` in inline code, and `make x` opening a line of a code block.
_README_TARGET = re.compile(r"`make ([a-z][a-z-]*)[^`]*`|^make ([a-z][a-z-]*)", re.MULTILINE)
DEV_START_TIMEOUT_S = 150  # migrator, API, worker, dashboard, mail sink on a busy 2-core machine


def readme_targets() -> set[str]:
    return {a or b for a, b in _README_TARGET.findall(README)}


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE))


def make(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return run_captured(["make", "--no-print-directory", *args], timeout=timeout, cwd=ROOT, env=env)


def test_every_target_the_readme_names_exists_and_dry_runs() -> None:
    named = readme_targets()
    # The README's promises a newcomer reads first.
    assert {"dev", "test", "help", "mail", "lint", "bench", "install"} <= named, named
    assert named <= makefile_targets(), (
        f"README names missing targets: {named - makefile_targets()}"
    )
    for target in sorted(named):
        done = make("-n", target)
        assert done.returncode == 0, f"make -n {target}: {done.stderr}"
        assert done.stdout.strip(), f"make -n {target} would do nothing"


def test_make_help_lists_every_target_the_readme_names() -> None:
    done = make("help")
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^\s+make (\S+)", done.stdout, re.MULTILINE))
    assert readme_targets() <= listed, readme_targets() - listed


def test_make_mail_prints_the_last_messages_of_the_sink(
    make_sink: Callable[..., MailSink],
) -> None:
    sink = make_sink()
    subjects = [f'Quoted "subject" {i} — ünïcode' for i in range(7)]
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
        for i, subject in enumerate(subjects):
            message = EmailMessage()
            message["From"] = "noreply@localhost.test"
            message["To"] = f"reader{i}@example.com"
            message["Subject"] = subject
            message.set_content(f"body of message {i}\nhttp://localhost/verify?code=x{i}")
            smtp.send_message(message)
    env = {**os.environ, "AUTHSTACK_DEV_MAIL_HTTP_PORT": str(sink.http_port)}
    done = make("mail", env=env)
    assert done.returncode == 0, done.stderr
    # The last five, oldest first, each with its recipients and text.
    headers = re.findall(r"^--- (.*)$", done.stdout, re.MULTILINE)
    assert headers == [f"{subjects[i]} -> reader{i}@example.com" for i in range(2, 7)]
    assert "body of message 6\nhttp://localhost/verify?code=x6" in done.stdout
    assert "body of message 1" not in done.stdout


def test_make_mail_without_a_sink_says_so() -> None:
    env = {**os.environ, "AUTHSTACK_DEV_MAIL_HTTP_PORT": str(free_port())}
    done = make("mail", env=env)
    assert done.returncode != 0
    assert "no mail sink answers" in done.stderr
    assert "is `make dev` running?" in done.stderr
    assert "Traceback" not in done.stderr


# --- make dev -----------------------------------------------------------------------------------


@pytest.fixture
def dev_database() -> Iterator[str]:
    with fresh_database("authstack_devtest") as url:
        yield url


def _pids_where(predicate: Callable[[int, int, list[bytes]], bool]) -> list[int]:
    """Processes (ppid, session id, argv) -> bool selects, read from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        # Fields after the parenthesised command name: state ppid pgrp session ...
        fields = stat.rpartition(")")[2].split()
        if predicate(int(fields[1]), int(fields[3]), cmdline):
            pids.append(int(entry.name))
    return pids


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, T stopped, Z zombie), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_token_refreshes(api: str, admin_key: str, timeout: float = 20) -> int:
    """The internal project's ``$token-refresh`` events, once there is one (they land in
    batches)."""
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.post(
            f"{api}/api/v1/internal/analytics/query",
            headers={
                "x-stack-access-type": "admin",
                "x-stack-project-id": "internal",
                "x-stack-super-secret-admin-key": admin_key,
            },
            json={"query": "SELECT count() AS n FROM events WHERE event_type = '$token-refresh'"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        count = int(r.json()["result"][0]["n"])
        if count or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def _store_and_read_back_a_public_file(port: int, dev_dir: Path) -> None:
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=(dev_dir / "s3-access-key-id").read_text().strip(),
        aws_secret_access_key=(dev_dir / "s3-secret-access-key").read_text().strip(),
        config=Config(s3={"addressing_style": "path"}),
    )
    client.put_object(
        Bucket="authstack-public", Key="hello.txt", Body=b"hi", ContentType="text/plain"
    )
    served = httpx.get(f"{endpoint}/authstack-public/hello.txt", timeout=10)
    assert (served.status_code, served.content) == (200, b"hi")
    assert (dev_dir / "s3" / "data").is_dir()


def _csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def _dashboard_test_mail_reaches_the_inbox(text: str, dashboard: str, inbox: str) -> None:
    """The README's promise: the banner's admin signs in to the dashboard, sends a test email
    from the Emails page (internal project, the shared server = the mail sink), and it is in
    ``make dev``'s inbox."""
    found = re.search(r"Admin login\s+(\S+) / (\S+)", text)
    assert found, text
    email, password = found.groups()
    to = f"dev-inbox-{secrets.token_hex(4)}@example.com"
    with httpx.Client(base_url=dashboard, timeout=30, follow_redirects=True) as browser:
        form = browser.get("/sign-in")
        signed_in = browser.post(
            "/sign-in",
            data={"csrf_token": _csrf_of(form.text), "email": email, "password": password},
        )
        assert signed_in.url.path == "/projects", signed_in.text[:500]
        sent_page = browser.get("/projects/internal/emails/sent")
        assert sent_page.status_code == 200
        done = browser.post(
            "/projects/internal/emails/sent/test",
            data={"csrf_token": _csrf_of(sent_page.text), "recipient_email": to},
        )
        assert "the email server accepted it" in done.text, done.text[:2000]
    listed = httpx.get(f"{inbox}/api/messages", params={"to": to}, timeout=10).json()
    [message] = listed["messages"]
    assert message["subject"].startswith("Test email from "), message


def test_make_dev_starts_shows_the_openapi_document_and_stops_cleanly_on_sigterm(
    dev_database: str, tmp_path: Path
) -> None:
    ports = {
        "STACK_API_PORT": free_port(),
        "STACK_DASHBOARD_PORT": free_port(),
        "AUTHSTACK_DEV_MAIL_SMTP_PORT": free_port(),
        "AUTHSTACK_DEV_MAIL_HTTP_PORT": free_port(),
        "AUTHSTACK_DEV_S3_PORT": free_port(),
    }
    api = f"http://127.0.0.1:{ports['STACK_API_PORT']}"
    dev_dir = tmp_path / "dev-state"
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        # Set outright, so that a developer's .env cannot point the run elsewhere.
        "STACK_DATABASE_CONNECTION_STRING": dev_database,
        "STACK_REDIS_URL": TEST_REDIS_URL,
        "STACK_QUEUE_NAMESPACE": f"authstack_devtest_{secrets.token_hex(4)}",
        "STACK_EMAIL_HOST": "",  # the mail sink, not a real server
        "NEXT_PUBLIC_STACK_API_URL": api,
        "NEXT_PUBLIC_STACK_DASHBOARD_URL": f"http://127.0.0.1:{ports['STACK_DASHBOARD_PORT']}",
        "STACK_DASHBOARD_API_URL": api,
        "AUTHSTACK_DEV_DIR": str(dev_dir),
        "STACK_S3_ENDPOINT": "",  # the embedded SeaweedFS
    }
    output = tmp_path / "make-dev.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + DEV_START_TIMEOUT_S
        while "authstack is running" not in output.read_text(errors="replace"):
            assert process.poll() is None, output.read_text(errors="replace")
            assert time.monotonic() < deadline, output.read_text(errors="replace")
            time.sleep(0.5)
        time.sleep(1)  # the lines after the banner
        text = output.read_text(errors="replace")

        # The banner points at the OpenAPI document, and the document is there.
        assert f"OpenAPI document        {api}/api/v1/docs/openapi.json" in text
        document = httpx.get(f"{api}/api/v1/docs/openapi.json", timeout=10)
        assert document.status_code == 200
        assert "openapi" in document.json()
        # Its state went to the folder it was given, not to the checkout's .dev/.
        assert (dev_dir / "keys.json").is_file()
        assert str(dev_dir.resolve()) in text

        # Analytics with no setup: the embedded ClickHouse in the dev folder, migrated, owned
        # by the API, holding the $token-refresh of the banner's admin sign-in.
        assert "dev: analytics: embedded ClickHouse (chdb)" in text
        assert (dev_dir / "clickhouse").is_dir()
        keys = json.loads((dev_dir / "keys.json").read_text())
        events = _wait_for_token_refreshes(api, keys["super_secret_admin_key"])
        assert events >= 1

        # Files with no setup: SeaweedFS with its data in the dev folder, the public bucket
        # readable by anyone, with the key pair kept in the dev folder.
        assert (
            f"dev: storage: SeaweedFS S3 http://127.0.0.1:{ports['AUTHSTACK_DEV_S3_PORT']}" in text
        )
        _store_and_read_back_a_public_file(ports["AUTHSTACK_DEV_S3_PORT"], dev_dir)
        _dashboard_test_mail_reaches_the_inbox(
            text,
            f"http://127.0.0.1:{ports['STACK_DASHBOARD_PORT']}",
            f"http://127.0.0.1:{ports['AUTHSTACK_DEV_MAIL_HTTP_PORT']}",
        )

        [dev_py] = _pids_where(
            lambda _ppid, sid, argv: (
                sid == process.pid
                and len(argv) > 1
                and argv[1].endswith(b"scripts/dev.py")
                and Path(argv[0].decode()).name.startswith("python")
            )
        )
        services = _pids_where(lambda ppid, _sid, _argv: ppid == dev_py)
        assert len(services) >= 4, services  # API, dashboard, worker, mail sink
        for port in ports.values():
            assert _listening(port), port

        # What a supervisor's SIGTERM turns into: dev.py receives it more than once (directly
        # and as forwarded by make and uv), and a developer may add a Ctrl-C on top. Held
        # while stopped, the signals all arrive at once instead of by the luck of timing.
        os.kill(dev_py, signal.SIGSTOP)
        while _state(dev_py) != "T":
            time.sleep(0.01)
        os.kill(dev_py, signal.SIGTERM)
        os.kill(dev_py, signal.SIGINT)
        os.kill(dev_py, signal.SIGCONT)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = output.read_text(errors="replace")
    tail = text[text.find("authstack is running") :]
    assert returncode == 0, tail
    assert "dev: stopping" in tail
    assert "Traceback" not in tail
    assert "KeyboardInterrupt" not in tail
    assert "make: ***" not in tail
    # Everything it started is gone.
    assert [pid for pid in services if _alive(pid)] == []
    for port in ports.values():
        assert not _listening(port), port
