"""Sign-up rules apply to OAuth sign-ups: method "oauth" and the provider's id in the context."""

from __future__ import annotations

from tests.api.test_sign_up_rules import rule
from tests.factories import query_row, query_value
from tests.oauth.flow import Browser, Flow, OAuth, error_from, shared, unique_login


def test_a_reject_rule_on_the_provider_refuses_the_sign_up_and_counts_it(oauth: OAuth) -> None:
    project = oauth.project(
        shared("github"),
        shared("google"),
        **{"auth.signUpRules.no-github": rule('authMethod == "oauth" && oauthProvider == "github"',
                                             "reject")},
    )  # fmt: skip
    refused = unique_login("refused")
    with Browser(oauth.env) as browser:
        flow = Flow(project, "github")
        error = error_from(browser.callback(browser.to_callback(flow, refused)))
    assert error["errorCode"] == "SIGN_UP_REJECTED"
    users = query_value(
        oauth.env.database_url,
        "SELECT count(*) FROM users WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    assert users == 0
    triggers = query_value(
        oauth.env.database_url,
        "SELECT count(*) FROM sign_up_rule_triggers WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    assert triggers == 1
    # The same rule lets another provider through.
    tokens = oauth.sign_in(project, "google", unique_login("allowed"))
    assert tokens["is_new_user"] is True


def test_a_restrict_rule_creates_the_oauth_user_restricted(oauth: OAuth) -> None:
    project = oauth.project(
        shared("gitlab"), **{"auth.signUpRules.watch": rule("true", "restrict")}
    )
    tokens = oauth.sign_in(project, "gitlab", unique_login("watched"))
    assert tokens["is_new_user"] is True
    restricted, details = query_row(
        oauth.env.database_url,
        "SELECT restricted_by_admin, restricted_by_admin_private_details FROM users"
        " WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    assert restricted is True
    assert "Restricted by sign-up rule: watch" in details
