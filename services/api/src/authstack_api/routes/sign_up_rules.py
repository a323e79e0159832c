"""Sign-up rules for the project's administrators: trigger counts and a dry run of the rules."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Response, get, post
from msgspec import Meta

from authstack_api.auth import AdminAuth
from authstack_api.responses import json_response
from authstack_api.schemas import Score, Strict
from authstack_core.domain import sign_up_rules
from authstack_core.domain.context import Deps
from authstack_core.models.sign_up_rules import AuthMethod, SignUpContext

# Any two letters, either case (upstream accepts "us" and answers "US").
AnyCaseCountryCode = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}\Z")]


class RiskScoresBody(Strict):
    bot: Score
    free_trial_abuse: Score


class SignUpRulesTestBody(Strict):
    """A made-up sign-up; every field but the last two must be given (``null`` where none)."""

    email: Annotated[str, Meta(max_length=256)] | None
    auth_method: AuthMethod
    oauth_provider: Annotated[str, Meta(max_length=256)] | None
    country_code: AnyCaseCountryCode | None
    turnstile_result: Literal["ok", "invalid", "error"] | msgspec.UnsetType = msgspec.UNSET
    risk_scores: RiskScoresBody | msgspec.UnsetType = msgspec.UNSET


@get("/api/v1/internal/sign-up-rules-stats")
async def stats(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    result = await sign_up_rules.stats(deps, auth.project)
    return json_response(result.json())


@post("/api/v1/internal/sign-up-rules-test", status_code=200)
async def dry_run(auth: AdminAuth, data: SignUpRulesTestBody) -> Response[bytes]:
    """How the rules would judge this sign-up, rule by rule; nothing is recorded. Risk scores
    are not computed here: they are 0 unless given."""
    scores = data.risk_scores
    context = SignUpContext.of(
        email=data.email,
        auth_method=data.auth_method,
        oauth_provider=data.oauth_provider,
        country_code=data.country_code,
        risk_scores=(0, 0) if scores is msgspec.UNSET else (scores.bot, scores.free_trial_abuse),
    )
    outcome = sign_up_rules.evaluate(auth.project.config, context)
    turnstile = "invalid" if data.turnstile_result is msgspec.UNSET else data.turnstile_result
    return json_response(
        {
            "context": context.json(turnstile_result=turnstile),
            "evaluations": [e.json() for e in outcome.evaluations],
            "outcome": outcome.outcome_json(),
        }
    )
