"""Rate limits (429 + Retry-After) through live API processes sharing the machine's Redis.

The session API runs with the default limits. The pair of APIs below trusts loopback as a
proxy, so tests pick their client address with X-Forwarded-For, and runs with low per-IP limits
(STACK_RATE_LIMITS) on a Redis namespace of its own.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from authstack_core.ratelimit_rules import DEFAULT_RULES
from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    sign_up,
    unique_email,
    update_password,
)
from tests.api.test_mfa import attempt_code, mfa_sign_in, totp_user, wrong
from tests.conftest import (
    QUEUE_NAMESPACE,
    ApiServer,
    Project,
    free_port,
    running_api,
)
from tests.mail import MailSink, WorkerProcess

SIGN_IN = "/api/v1/auth/password/sign-in"
CALLBACK = "http://localhost:3000/handler/callback"
# Every per-IP rule at 2 requests an hour; accounts get 3 free attempts, then 2 s, then 4 s.
LOW_LIMITS = ";".join(
    [f"{name}=1/1h:2" for name in DEFAULT_RULES if name.endswith(".ip")]
    + ["password_sign_in.account=free=3,base=2s,cap=4s"]
)


def _namespace() -> str:
    # Under the session's namespace, whose keys are deleted at the end of the run.
    return f"{QUEUE_NAMESPACE}:rl{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def proxied(migrated_database: str) -> Iterator[tuple[ApiServer, ApiServer]]:
    """Two API processes on one Redis namespace, trusting loopback as their proxy."""
    env = {
        "STACK_QUEUE_NAMESPACE": _namespace(),
        "STACK_TRUSTED_PROXY_NETWORKS": "127.0.0.1/32",
        "STACK_RATE_LIMITS": LOW_LIMITS,
    }
    with (
        running_api(migrated_database, **env) as first,
        running_api(migrated_database, **env) as second,
    ):
        yield first, second


def client_ip() -> str:
    """A fresh documentation address (2001:db8::/32), so each test has buckets of its own."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def sign_in(
    http: httpx.Client, project: Project, email: str, password: str, **headers: str
) -> httpx.Response:
    return http.post(
        SIGN_IN, headers=project.headers(**headers), json={"email": email, "password": password}
    )


def assert_rate_limited(r: httpx.Response) -> int:
    """429, text/plain, an integer Retry-After of at least 1, and no known-error code (the SDK
    throws known errors at once; a bare 429 it waits out and retries)."""
    assert r.status_code == 429, (r.status_code, r.text)
    assert "x-stack-known-error" not in r.headers
    assert r.headers["content-type"].startswith("text/plain")
    retry_after = r.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) >= 1
    assert retry_after in r.text
    return int(retry_after)


# --- password sign-in: failures per account ---------------------------------------------------


def test_wrong_passwords_slow_the_account_down_whatever_the_forwarded_address(
    http: httpx.Client, project: Project
) -> None:
    """Defaults: 5 free attempts, then a short hold that doubles; never a lock-out."""
    email = unique_email("victim")
    sign_up(http, project, email)
    for i in range(6):  # rotating X-Forwarded-For changes nothing: the API trusts no proxy
        r = sign_in(http, project, email, "wrong-password-1", **{"x-forwarded-for": f"10.9.0.{i}"})
        assert_known_error(r, "EMAIL_PASSWORD_MISMATCH", 400)
    refused = sign_in(http, project, email, "wrong-password-1", **{"x-forwarded-for": "10.9.1.1"})
    assert assert_rate_limited(refused) == 1
    # The right password is held too (else the hold would not slow guessing), but only briefly.
    assert_rate_limited(sign_in(http, project, email, PASSWORD))
    # Another account from the same address is not affected.
    other = unique_email("bystander")
    sign_up(http, project, other)
    assert sign_in(http, project, other, PASSWORD).status_code == 200

    time.sleep(1.1)
    assert sign_in(http, project, email, PASSWORD).status_code == 200
    # The success cleared the count: wrong passwords are answered (not held) again.
    for _ in range(5):
        assert_known_error(
            sign_in(http, project, email, "wrong-password-1"), "EMAIL_PASSWORD_MISMATCH", 400
        )


def test_wrong_old_passwords_on_update_slow_that_user_down(
    http: httpx.Client, project: Project
) -> None:
    """A stolen access token is no oracle for the current password: the same failure gate as
    sign-in, keyed by the user (defaults: 5 free, then a short hold)."""
    tokens = sign_up(http, project, unique_email("updater"))
    headers = as_user(project, tokens["access_token"])
    for _ in range(6):  # as sign-in's gate: these are answered, the next one is held
        r = update_password(http, headers, "wrong-password-1", "new-password-123")
        assert_known_error(r, "PASSWORD_CONFIRMATION_MISMATCH", 400)
    held = update_password(http, headers, "wrong-password-1", "new-password-123")
    assert assert_rate_limited(held) >= 1
    # The right old password is held too, but only briefly; a success clears the count.
    assert_rate_limited(update_password(http, headers, PASSWORD, "new-password-123"))
    time.sleep(1.1)
    assert update_password(http, headers, PASSWORD, "new-password-123").status_code == 200
    for _ in range(5):
        r = update_password(http, headers, "wrong-password-1", "other-password-123")
        assert_known_error(r, "PASSWORD_CONFIRMATION_MISMATCH", 400)


def test_the_429_survives_the_status_override_and_browsers_may_read_retry_after(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email("override")
    for _ in range(6):
        sign_in(http, project, email, "wrong-password-1")
    r = sign_in(http, project, email, "wrong-password-1", **{"x-stack-override-error-status": "1"})
    assert r.status_code == 200
    assert r.headers["x-stack-actual-status"] == "429"
    assert int(r.headers["retry-after"]) >= 1
    exposed = r.headers["access-control-expose-headers"].replace(" ", "").split(",")
    assert "retry-after" in exposed


def test_two_api_processes_share_the_counts(
    proxied: tuple[ApiServer, ApiServer], make_project: Callable[..., Project]
) -> None:
    first, second = proxied
    project = make_project()
    email = unique_email("shared")
    with first.client() as a, second.client() as b:
        sign_up(a, project, email, **{"x-forwarded-for": client_ip()})
        # 3 free attempts plus 1 that starts the hold, split over both processes, each from a
        # new address (per-IP limits are 2 an hour here: the account is what is counted).
        for http in (a, b, a, b):
            r = sign_in(
                http, project, email, "wrong-1-password", **{"x-forwarded-for": client_ip()}
            )
            assert_known_error(r, "EMAIL_PASSWORD_MISMATCH", 400)
        for http in (a, b):
            r = sign_in(http, project, email, PASSWORD, **{"x-forwarded-for": client_ip()})
            assert assert_rate_limited(r) == 2


# --- client addresses and trusted proxies -----------------------------------------------------


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    migrated_database: str,
    proxied: tuple[ApiServer, ApiServer],
    make_project: Callable[..., Project],
) -> None:
    project = make_project()
    path = "/api/v1/auth/anonymous/sign-up"
    with (
        running_api(
            migrated_database,
            STACK_QUEUE_NAMESPACE=_namespace(),
            STACK_TRUSTED_PROXY_NETWORKS="10.0.0.0/8",  # not loopback, where the tests connect from
            STACK_RATE_LIMITS="anonymous_sign_up.ip=1/1h:2",
        ) as untrusting,
        untrusting.client() as http,
    ):
        statuses = [
            http.post(path, headers=project.headers(**{"x-forwarded-for": client_ip()}))
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    assert_rate_limited(statuses[2])  # rotating X-Forwarded-For: still one client

    with proxied[0].client() as http:
        for _ in range(3):  # behind the trusted proxy each address is its own client
            r = http.post(path, headers=project.headers(**{"x-forwarded-for": client_ip()}))
            assert r.status_code == 200, r.text
        one = client_ip()
        # The left-most hop is the client's own claim; the right-most untrusted one counts.
        for spoof in ("198.51.100.1", "198.51.100.2"):
            r = http.post(path, headers=project.headers(**{"x-forwarded-for": f"{spoof}, {one}"}))
            assert r.status_code == 200, r.text
        assert_rate_limited(http.post(path, headers=project.headers(**{"x-forwarded-for": one})))


# --- every limited route is wired ---------------------------------------------------------------


def _code() -> str:
    return "".join(secrets.choice("0123456789abcdefghjkmnpqrstvwxyz") for _ in range(45))


Call = Callable[[httpx.Client, Project, dict[str, str]], httpx.Response]


def _post(path: str, access: str = "client", **body: Any) -> Call:
    def call(http: httpx.Client, project: Project, extra: dict[str, str]) -> httpx.Response:
        fields = {k: (v() if callable(v) else v) for k, v in body.items()}
        return http.post(path, headers=project.headers(access, **extra), json=fields)

    return call


def _get(path: str, **params: str) -> Call:
    def call(http: httpx.Client, project: Project, extra: dict[str, str]) -> httpx.Response:
        return http.get(path, params=params, headers=extra)

    return call


def _token(http: httpx.Client, project: Project, extra: dict[str, str]) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "not-a-live-refresh-token",
        "client_id": project.id,
        "client_secret": project.publishable_client_key,
    }
    return http.post("/api/v1/auth/oauth/token", data=form, headers=extra)


ROUTES: dict[str, Call] = {
    "password sign-up": _post(
        "/api/v1/auth/password/sign-up", email=unique_email, password=PASSWORD
    ),
    "password sign-in": _post(SIGN_IN, email=unique_email, password=PASSWORD),
    "anonymous sign-up": _post("/api/v1/auth/anonymous/sign-up"),
    "otp send": _post(
        "/api/v1/auth/otp/send-sign-in-code", email=unique_email, callback_url=CALLBACK
    ),
    "otp sign-in": _post("/api/v1/auth/otp/sign-in", code=_code),
    "otp check": _post("/api/v1/auth/otp/sign-in/check-code", code=_code),
    "reset send": _post(
        "/api/v1/auth/password/send-reset-code", email=unique_email, callback_url=CALLBACK
    ),
    "reset": _post("/api/v1/auth/password/reset", code=_code, password=PASSWORD),
    "reset check": _post("/api/v1/auth/password/reset/check-code", code=_code),
    "verification send": _post(
        "/api/v1/contact-channels/send-verification-code", email=unique_email, callback_url=CALLBACK
    ),
    "verify": _post("/api/v1/contact-channels/verify", code=_code),
    "invitation send": _post(
        "/api/v1/team-invitations/send-code",
        "server",
        team_id=lambda: str(uuid.uuid4()),
        email=unique_email,
        callback_url=CALLBACK,
    ),
    "invitation accept": _post("/api/v1/team-invitations/accept", code=_code),
    "api key check": _post("/api/v1/user-api-keys/check", "server", api_key="sk_not_a_key"),
    "token refresh": _token,
    "session refresh": _post("/api/v1/auth/sessions/current/refresh"),
    "cli start": _post("/api/v1/auth/cli"),
    "cli poll": _post("/api/v1/auth/cli/poll", polling_code=_code),
    "cli complete": _post("/api/v1/auth/cli/complete", login_code=_code, mode="check"),
    # Counted before the callback is checked (this one is not trusted: nothing is sent).
    "sign-in invitation": _post(
        "/api/v1/internal/send-sign-in-invitation",
        "server",
        email=unique_email,
        callback_url="https://untrusted.example/sign-in",
    ),
    # A mail's unsubscribe link takes no project keys: counted per address before the token
    # is read.
    "unsubscribe page": _get("/api/v1/emails/unsubscribe-link", token="not-a-token"),
    "one-click unsubscribe": _post("/api/v1/emails/unsubscribe-link?token=not-a-token"),
    # Counted before the provider is looked up (this project has none).
    "connected account token": _post(
        f"/api/v1/connected-accounts/{uuid.uuid4()}/github/access-token", "server"
    ),
}


@pytest.mark.parametrize("route", ROUTES)
def test_every_limited_route_answers_429_past_its_limit(
    route: str, proxied: tuple[ApiServer, ApiServer], project: Project
) -> None:
    ip = client_ip()
    call = ROUTES[route]
    with proxied[0].client() as http:
        for _ in range(2):
            r = call(http, project, {"x-forwarded-for": ip})
            assert r.status_code != 429, r.text
        assert_rate_limited(call(http, project, {"x-forwarded-for": ip}))
        # Per address: another client is still answered.
        assert call(http, project, {"x-forwarded-for": client_ip()}).status_code != 429


def test_refresh_limit_is_generous_by_default(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": project.id,
        "client_secret": project.publishable_client_key,
    }
    statuses = {http.post("/api/v1/auth/oauth/token", data=form).status_code for _ in range(300)}
    assert statuses == {200}


# --- email: per recipient -----------------------------------------------------------------------


def _outbox_rows(database_url: str, email: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM email_outbox WHERE to_email = %s", (email,))
        found = row.fetchone()
    return int(found[0]) if found else 0


def test_otp_mails_to_one_address_are_capped(
    http: httpx.Client,
    make_project: Callable[..., Project],
    migrated_database: str,
    mail_worker: WorkerProcess,
    mail_sink: MailSink,
) -> None:
    """Defaults: 5 codes at once to one address, then one per 2 minutes."""
    project = make_project({"auth.otp.allowSignIn": True})
    email = unique_email("bombed")

    def send(to: str) -> httpx.Response:
        return http.post(
            "/api/v1/auth/otp/send-sign-in-code",
            headers=project.headers(),
            json={"email": to, "callback_url": CALLBACK},
        )

    answers = [send(email) for _ in range(7)]
    assert [r.status_code for r in answers[:5]] == [200] * 5
    assert assert_rate_limited(answers[5]) > 60  # the next code is minutes away
    assert_rate_limited(answers[6])
    assert _outbox_rows(migrated_database, email) == 5
    mail_sink.wait_for(email, count=5)
    # Other addresses are still served.
    other = unique_email("other")
    assert send(other).status_code == 200
    mail_sink.wait_for(other)
    assert len(mail_sink.messages(email)) == 5


def test_reset_mails_to_one_address_are_capped(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    email = unique_email("reset")
    sign_up(http, project, email)

    def send() -> httpx.Response:
        return http.post(
            "/api/v1/auth/password/send-reset-code",
            headers=project.headers(),
            json={"email": email, "callback_url": CALLBACK},
        )

    assert [send().status_code for _ in range(5)] == [200] * 5
    assert_rate_limited(send())
    assert _outbox_rows(migrated_database, email) == 5


# --- Redis down -----------------------------------------------------------------------------


def test_sign_in_works_while_redis_is_down(
    migrated_database: str, make_project: Callable[..., Project]
) -> None:
    """Fail open: nothing is limited, nothing waits for Redis (documented behaviour)."""
    project = make_project()
    with (
        running_api(
            migrated_database,
            STACK_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            STACK_RATE_LIMITS="password_sign_in.account=free=1",
        ) as api,
        api.client() as http,
    ):
        email = unique_email("noredis")
        sign_up(http, project, email)
        started = time.perf_counter()
        for _ in range(4):
            assert_known_error(
                sign_in(http, project, email, "wrong-password-1"),
                "EMAIL_PASSWORD_MISMATCH",
                400,
            )
        r = sign_in(http, project, email, PASSWORD)
        assert r.status_code == 200, r.text
        assert time.perf_counter() - started < 5


# --- MFA: TOTP guesses per user, across attempt codes ------------------------------------------


def test_totp_guesses_are_held_per_user_across_fresh_attempt_codes(
    http: httpx.Client, project: Project
) -> None:
    """Whoever knows the password can fetch attempt code after attempt code; each allows only a
    few wrong TOTPs, but the hold counts the user's guesses, so a fresh code buys no new ones."""
    user = totp_user(http, project)
    first = attempt_code(http, project, user)
    for _ in range(5):
        assert_known_error(
            mfa_sign_in(http, project, first, wrong(user.code())), "INVALID_TOTP_CODE", 400
        )
    fresh = attempt_code(http, project, user)
    answers = [mfa_sign_in(http, project, fresh, wrong(user.code())) for _ in range(2)]
    assert any(r.status_code == 429 for r in answers), [r.status_code for r in answers]
    assert_rate_limited(next(r for r in answers if r.status_code == 429))
    # Another TOTP user is not affected.
    other = totp_user(http, project)
    assert (
        mfa_sign_in(http, project, attempt_code(http, project, other), other.code()).status_code
        == 200
    )
