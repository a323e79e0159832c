"""Sign-up rules (``auth.signUpRules``): CEL conditions checked on password and OTP sign-up (and
the upgrade of an anonymous user), the default action, the dry-run route and the trigger stats."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from authstack_core.models.sign_up_rules import MAX_CONDITION_LENGTH, check_condition
from tests.api.helpers import PASSWORD, assert_known_error, unique_email
from tests.api.team_helpers import new_user
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, code_in

CALLBACK = "http://localhost:3000/handler/magic-link-callback"
STATS = "/api/v1/internal/sign-up-rules-stats"
DRY_RUN = "/api/v1/internal/sign-up-rules-test"
REJECTED_TEXT = "Your sign-up was rejected by a sign-up rule of this project."
RULED = "ruled.example"  # the domain the rules of these tests single out


def rule(
    condition: str | None,
    action: str,
    *,
    priority: int = 0,
    enabled: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": enabled, "priority": priority, "action": {"type": action}}
    if condition is not None:
        out["condition"] = condition
    if name is not None:
        out["displayName"] = name
    if action == "reject":
        out["action"]["message"] = "internal note: keep out the spammers"
    return out


@dataclass
class SignUps:
    """Signs addresses up through each path the rules guard."""

    http: httpx.Client
    sink: MailSink
    make_project: Callable[..., Project]

    def project(self, rules: dict[str, dict[str, Any]], default: str | None = None) -> Project:
        """A project with OTP sign-in on and these rules (and default action)."""
        config: dict[str, Any] = {"auth.otp.allowSignIn": True}
        config.update({f"auth.signUpRules.{rule_id}": r for rule_id, r in rules.items()})
        if default is not None:
            config["auth.signUpRulesDefaultAction"] = default
        return self.make_project(config)

    def by(self, method: str, project: Project, email: str, **headers: str) -> httpx.Response:
        if method == "password":
            return self.http.post(
                "/api/v1/auth/password/sign-up",
                headers=project.headers(**headers),
                json={"email": email, "password": PASSWORD},
            )
        sent = self.http.post(
            "/api/v1/auth/otp/send-sign-in-code",
            headers=project.headers(),
            json={"email": email, "callback_url": CALLBACK},
        )
        assert sent.status_code == 200, sent.text
        code = code_in(self.sink.wait_for(email)[-1])
        return self.http.post(
            "/api/v1/auth/otp/sign-in", headers=project.headers(), json={"code": code}
        )

    def user(self, project: Project, user_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/users/{user_id}", headers=project.headers("admin"))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def users_named(self, project: Project, email: str) -> list[dict[str, Any]]:
        r = self.http.get(
            "/api/v1/users", headers=project.headers("server"), params={"query": email}
        )
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def stats(self, project: Project) -> dict[str, Any]:
        r = self.http.get(STATS, headers=project.headers("admin"))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def dry_run(self, project: Project, **body: Any) -> dict[str, Any]:
        fields = {"email": None, "auth_method": "password", "oauth_provider": None}
        r = self.http.post(
            DRY_RUN, headers=project.headers("admin"), json={"country_code": None, **fields, **body}
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
def sign_ups(
    http: httpx.Client, mail_worker: WorkerProcess, mail_sink: MailSink, make_project: Any
) -> SignUps:
    return SignUps(http, mail_sink, make_project)


def assert_rejected(r: httpx.Response) -> None:
    """SIGN_UP_REJECTED, telling nothing of the rule (its message is for the project only)."""
    body = assert_known_error(r, "SIGN_UP_REJECTED", 403, {"message": REJECTED_TEXT})
    assert body["error"] == REJECTED_TEXT
    assert "internal note" not in r.text


# (action, default action, whether the sign-up goes through)
ACTIONS = [
    ("allow", "reject", True),
    ("reject", "allow", False),
    ("restrict", None, True),
    ("log", None, True),
]


@pytest.mark.parametrize("method", ["password", "otp"])
@pytest.mark.parametrize(("action", "default", "admitted"), ACTIONS)
def test_each_action_on_each_sign_up_path(
    sign_ups: SignUps,
    method: str,
    action: str,
    default: str | None,
    admitted: bool,
) -> None:
    project = sign_ups.project(
        {"r": rule(f'emailDomain == "{RULED}"', action, name="Ruled")}, default
    )
    email = unique_email("ruled").replace("example.com", RULED)
    r = sign_ups.by(method, project, email)
    if not admitted:
        assert_rejected(r)
        assert sign_ups.users_named(project, email) == []
    else:
        assert r.status_code == 200, r.text
        user = sign_ups.user(project, r.json()["user_id"])
        restricted = action == "restrict"
        assert user["restricted_by_admin"] is restricted
        assert user["is_restricted"] is restricted
        assert user["restricted_by_admin_reason"] is None
        if restricted:
            assert user["restricted_by_admin_private_details"] == (
                "Restricted by sign-up rule: r (Ruled)"
            )
            assert user["restricted_reason"] == {"type": "restricted_by_administrator"}
        else:
            assert user["restricted_by_admin_private_details"] is None
    # The match is one trigger, counted even when the sign-up was refused.
    stats = sign_ups.stats(project)
    assert stats["total_triggers"] == 1
    assert stats["triggers_by_action"] == {
        a: int(a == action) for a in ("allow", "reject", "restrict", "log")
    }
    assert [t["rule_id"] for t in stats["rule_triggers"]] == ["r"]
    # An address the rule does not name goes by the default action, and triggers nothing.
    other = sign_ups.by(method, project, unique_email("unruled"))
    if default == "reject":
        assert_rejected(other)
    else:
        assert other.status_code == 200, other.text
    assert sign_ups.stats(project)["total_triggers"] == 1


def test_rules_run_by_priority_then_id_and_the_first_allow_or_reject_decides(
    sign_ups: SignUps,
) -> None:
    project = sign_ups.project(
        {
            "late-allow": rule("true", "allow", priority=2),
            "b-log": rule("true", "log", priority=1),
            "a-restrict": rule("true", "restrict", priority=1),
            "z-restrict": rule("true", "restrict", priority=0),
            "reject-ruled": rule(f'emailDomain == "{RULED}"', "reject", priority=1),
        }
    )
    order = ["z-restrict", "a-restrict", "b-log", "reject-ruled", "late-allow"]
    trace = sign_ups.dry_run(project, email="someone@example.com")
    assert [e["rule_id"] for e in trace["evaluations"]] == order
    statuses = [e["status"] for e in trace["evaluations"]]
    assert statuses == ["matched"] * 3 + ["not_matched", "matched"]
    assert trace["outcome"] == {
        "should_allow": True,
        "decision": "allow",
        "decision_rule_id": "late-allow",
        "restricted_because_of_rule_id": "z-restrict",
    }
    # Evaluation stops at the deciding rule: the later allow is never reached.
    ruled = sign_ups.dry_run(project, email=f"someone@{RULED}")
    assert [e["rule_id"] for e in ruled["evaluations"]] == order[:4]
    assert ruled["outcome"]["decision"] == "reject"
    assert_rejected(
        sign_ups.by("password", project, f"x-{unique_email()}".replace("example.com", RULED))
    )
    r = sign_ups.by("password", project, unique_email())
    user = sign_ups.user(project, r.json()["user_id"])
    assert user["restricted_by_admin_private_details"] == "Restricted by sign-up rule: z-restrict"
    # The dry run recorded nothing; the two sign-ups recorded every rule that matched them.
    stats = sign_ups.stats(project)
    assert stats["triggers_by_action"] == {"allow": 1, "reject": 1, "restrict": 4, "log": 2}
    assert stats["total_triggers"] == 8


def test_disabled_rules_and_rules_without_condition_are_skipped(sign_ups: SignUps) -> None:
    project = sign_ups.project(
        {
            "off": rule("true", "reject", enabled=False),
            "empty": rule("", "reject"),
            "absent": rule(None, "reject"),
        }
    )
    trace = sign_ups.dry_run(project, email="a@example.com")
    statuses = {e["rule_id"]: e["status"] for e in trace["evaluations"]}
    assert statuses == {
        "off": "disabled",
        "empty": "missing_condition",
        "absent": "missing_condition",
    }
    assert trace["outcome"]["decision"] == "default-allow"
    assert sign_ups.by("password", project, unique_email()).status_code == 200


@pytest.mark.parametrize("method", ["password", "otp"])
def test_the_default_reject_refuses_what_no_rule_allows(sign_ups: SignUps, method: str) -> None:
    project = sign_ups.project({}, "reject")
    assert_rejected(sign_ups.by(method, project, unique_email()))
    assert sign_ups.dry_run(project)["outcome"] == {
        "should_allow": False,
        "decision": "default-reject",
        "decision_rule_id": None,
        "restricted_because_of_rule_id": None,
    }
    assert sign_ups.stats(project)["total_triggers"] == 0


BROKEN = {
    "syntax": "email ==",
    "unknown-variable": "nosuch == 1",
    "type-mismatch": 'email + 1 == "x"',
    "bad-regex": 'email.matches("(unclosed")',
    "backreference": r'email.matches("^(a)\\1$")',
    "too-long": "true || " * (MAX_CONDITION_LENGTH // 8) + "true",
}


def test_a_broken_condition_never_matches_and_never_fails_the_sign_up(sign_ups: SignUps) -> None:
    project = sign_ups.project({k: rule(v, "reject") for k, v in BROKEN.items()})
    trace = sign_ups.dry_run(project, email="aa@example.com")
    assert {e["rule_id"]: e["status"] for e in trace["evaluations"]} == dict.fromkeys(
        BROKEN, "error"
    )
    assert all(e["error"] for e in trace["evaluations"])
    assert trace["outcome"]["decision"] == "default-allow"
    assert sign_ups.by("password", project, f"aa-{unique_email()}").status_code == 200
    assert sign_ups.stats(project)["total_triggers"] == 0


def test_check_condition_says_why_a_condition_is_refused() -> None:
    """What the config API calls when a rule is saved."""
    assert check_condition('emailDomain in ["a.com", "b.com"] && authMethod != "oauth"') is None
    assert check_condition('email.matches("(unclosed")') is None  # fails only when evaluated
    for name in ("syntax", "too-long"):
        assert check_condition(BROKEN[name])


@pytest.mark.parametrize("name", ["syntax", "too-long"])
def test_the_config_api_refuses_a_rule_whose_condition_does_not_compile(
    http: httpx.Client, project: Project, name: str
) -> None:
    config = {"auth.signUpRules.broken": rule(BROKEN[name], "reject")}
    r = http.patch(
        "/api/v1/internal/config/override/branch",
        headers=project.headers("admin"),
        json={"config_override_string": json.dumps(config)},
    )
    body = assert_known_error(r, "SCHEMA_ERROR", 400)
    assert "auth.signUpRules.broken.condition must be a valid CEL expression" in body["error"]
    rendered = http.get("/api/v1/internal/config", headers=project.headers("admin")).json()
    assert "broken" not in json.loads(rendered["config_string"])["auth"]["signUpRules"]


def test_conditions_see_upstreams_context_variables(sign_ups: SignUps) -> None:
    variables = {
        "email": 'email == "some.one+tag@example.com"',
        "domain": 'emailDomain == "example.com"',
        "method": 'authMethod == "oauth"',
        "provider": 'oauthProvider == "github"',
        "country": 'countryCode in ["DE", "AT"]',
        "risk": "riskScores.bot == 0 && riskScores.freeTrialAbuse == 0",
        "methods": 'email.startsWith("some") && email.endsWith(".com") && email.contains("+")',
    }
    project = sign_ups.project({k: rule(v, "log") for k, v in variables.items()})
    trace = sign_ups.dry_run(
        project,
        email="Some.One+tag@Example.COM",
        auth_method="oauth",
        oauth_provider="github",
        country_code="de",
    )
    assert trace["context"] == {
        "email": "some.one+tag@example.com",
        "email_domain": "example.com",
        "country_code": "DE",
        "auth_method": "oauth",
        "oauth_provider": "github",
        "turnstile_result": "invalid",
        "risk_scores": {"bot": 0, "free_trial_abuse": 0},
    }
    assert {e["rule_id"]: e["status"] for e in trace["evaluations"]} == dict.fromkeys(
        variables, "matched"
    )
    scored = sign_ups.dry_run(project, risk_scores={"bot": 90, "free_trial_abuse": 0})
    assert scored["context"]["risk_scores"] == {"bot": 90, "free_trial_abuse": 0}
    assert {e["rule_id"]: e["status"] for e in scored["evaluations"]}["risk"] == "not_matched"


def test_a_rule_on_the_auth_method_tells_password_from_otp(sign_ups: SignUps) -> None:
    project = sign_ups.project({"no-otp": rule('authMethod == "otp"', "reject")})
    assert sign_ups.by("password", project, unique_email()).status_code == 200
    assert_rejected(sign_ups.by("otp", project, unique_email()))


def test_an_existing_account_signs_in_by_otp_whatever_the_rules(sign_ups: SignUps) -> None:
    """Rules guard the creation of accounts: an account made by the server still signs in."""
    project = sign_ups.project({"everyone": rule("true", "reject")}, "reject")
    user = new_user(sign_ups.http, project)
    assert user.email is not None
    r = sign_ups.by("otp", project, user.email)
    assert r.status_code == 200, r.text
    assert r.json()["is_new_user"] is False
    assert sign_ups.stats(project)["total_triggers"] == 0


def test_anonymous_sign_up_is_not_checked_but_its_upgrade_is(sign_ups: SignUps) -> None:
    project = sign_ups.project(
        {
            "restrict-ruled": rule(f'emailDomain == "{RULED}"', "restrict"),
            "allow-ruled": rule(f'emailDomain == "{RULED}"', "allow", priority=1),
        },
        "reject",
    )
    http = sign_ups.http
    anonymous = [
        http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers()) for _ in "ab"
    ]
    assert [a.status_code for a in anonymous] == [200, 200]
    tokens = [a.json()["access_token"] for a in anonymous]
    as_anonymous = [
        {"x-stack-access-token": t, "x-stack-allow-anonymous-user": "true"} for t in tokens
    ]
    assert_rejected(sign_ups.by("password", project, unique_email(), **as_anonymous[0]))
    # A restrict rule matching the upgrade restricts the user, below what an admin noted before.
    user_id = anonymous[1].json()["user_id"]
    noted = http.patch(
        f"/api/v1/users/{user_id}",
        headers=project.headers("server"),
        json={"restricted_by_admin": True, "restricted_by_admin_private_details": "earlier"},
    )
    assert noted.status_code == 200, noted.text
    email = unique_email().replace("example.com", RULED)
    upgraded = sign_ups.by("password", project, email, **as_anonymous[1])
    assert upgraded.status_code == 200, upgraded.text
    user = sign_ups.user(project, user_id)
    assert (user["is_anonymous"], user["primary_email"]) == (False, email)
    assert user["restricted_by_admin_private_details"] == (
        "earlier\n\nRestricted by sign-up rule: restrict-ruled"
    )


def test_another_projects_rules_and_triggers_never_apply(sign_ups: SignUps) -> None:
    strict = sign_ups.project({"everyone": rule("true", "reject")}, "reject")
    open_ = sign_ups.project({})
    assert_rejected(sign_ups.by("password", strict, unique_email()))
    assert sign_ups.by("password", open_, unique_email()).status_code == 200
    assert sign_ups.by("otp", open_, unique_email()).status_code == 200
    assert sign_ups.dry_run(open_)["evaluations"] == []
    assert sign_ups.stats(open_)["total_triggers"] == 0
    assert sign_ups.stats(strict)["total_triggers"] == 1


def test_stats_count_the_last_48_hours_by_rule_and_hour(sign_ups: SignUps) -> None:
    project = sign_ups.project(
        {
            "watch": rule("true", "log"),
            "block": rule('email.startsWith("bad")', "reject", priority=1),
        }
    )
    empty = sign_ups.stats(project)
    assert empty == {
        "rule_triggers": [],
        "total_triggers": 0,
        "triggers_by_action": {"allow": 0, "reject": 0, "restrict": 0, "log": 0},
    }
    sign_ups.by("password", project, unique_email())
    assert_rejected(sign_ups.by("password", project, unique_email("bad")))
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stats = sign_ups.stats(project)
    assert stats["total_triggers"] == 3
    assert stats["triggers_by_action"] == {"allow": 0, "reject": 1, "restrict": 0, "log": 2}
    by_rule = {t["rule_id"]: t for t in stats["rule_triggers"]}
    assert {k: t["total_count"] for k, t in by_rule.items()} == {"watch": 2, "block": 1}
    for t in by_rule.values():
        hours = [h["hour"] for h in t["hourly_counts"]]
        assert len(hours) == 48
        last = datetime.fromisoformat(hours[-1])
        assert last - timedelta(hours=1) <= before <= last  # the current hour closes the list
        assert hours[0] == (last - timedelta(hours=47)).strftime("%Y-%m-%dT%H:00:00.000Z")
        assert sum(h["count"] for h in t["hourly_counts"]) == t["total_count"]


@pytest.mark.parametrize("access", ["client", "server"])
def test_the_rule_routes_are_for_admins_only(
    http: httpx.Client, project: Project, access: str
) -> None:
    body = {"email": None, "auth_method": "password", "oauth_provider": None, "country_code": None}
    for r in (
        http.get(STATS, headers=project.headers(access)),
        http.post(DRY_RUN, headers=project.headers(access), json=body),
    ):
        assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_the_dry_run_needs_every_field_of_the_sign_up(http: httpx.Client, project: Project) -> None:
    r = http.post(DRY_RUN, headers=project.headers("admin"), json={"email": "a@example.com"})
    assert_known_error(r, "SCHEMA_ERROR", 400)
