"""``make dev``'s environment: .env, generated keys and admin password, the dev defaults."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from authstack_core.crypto.codes import new_project_key

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
    # Webhook endpoints may be local receivers (scripts/webhook_receiver.py).
    "STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
}
Env = dict[str, str]


class DevError(Exception):
    """A problem the developer must fix; printed without a traceback."""


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
