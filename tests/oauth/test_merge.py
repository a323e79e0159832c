"""Who an OAuth sign-in becomes when its email already signs someone in
(``auth.oauth.accountMergeStrategy``), and linking a provider account to a signed-in user.

The attacks: an unverified provider email must not take over a verified account, an unverified
account must not be taken over at all, and a provider account that signs one user in cannot be
linked to another.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.helpers import PASSWORD, sign_in_with_password
from tests.api.team_helpers import email_user
from tests.factories import Project, query_rows
from tests.oauth.flow import Browser, Flow, OAuth, error_from, generic, shared, unique_login


def _existing_user(http: httpx.Client, project: Project, email: str, *, verified: bool) -> str:
    """A password user signing in with ``email``."""
    return str(email_user(http, project, email, verified=verified, password=PASSWORD)["id"])


def _linked(oauth: OAuth, user_id: str) -> list[str]:
    rows = query_rows(
        oauth.env.database_url,
        "SELECT provider_config_id FROM oauth_accounts WHERE user_id = %s",
        (user_id,),
    )
    return [row[0] for row in rows]


def _callback(
    oauth: OAuth, project: Project, provider: str, login: str, **extra: str
) -> httpx.Response:
    with Browser(oauth.env) as browser:
        return browser.callback(browser.to_callback(Flow(project, provider), login, **extra))


def test_link_method_merges_when_both_emails_are_verified(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    email = unique_login("merged")
    user_id = _existing_user(oauth.http, project, email, verified=True)
    tokens = oauth.sign_in(project, "github", email)
    assert tokens["is_new_user"] is False
    assert oauth.me(project, tokens["access_token"])["id"] == user_id
    assert _linked(oauth, user_id) == ["github"]
    # The password still works: the account gained a method, it was not replaced.
    assert sign_in_with_password(oauth.http, project, email, PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("strategy", "account_verified", "provider_verified", "would_work"),
    [
        # An unverified account is never taken over, whatever the provider says.
        ("link_method", False, True, True),
        # The attacker's provider account claims the victim's verified address without having
        # verified it.
        ("link_method", True, False, False),
        ("raise_error", True, True, False),
    ],
    ids=["unverified-account", "unverified-provider-email", "raise-error"],
)
def test_a_merge_by_email_is_refused_and_links_nothing(
    oauth: OAuth,
    http: httpx.Client,
    strategy: str,
    account_verified: bool,
    provider_verified: bool,
    would_work: bool,
) -> None:
    """The callback goes to error_redirect_url with the contract's error, and the account that
    holds the address gains no provider. (The generic provider, unlike MOCK, can leave an email
    unverified: its login ``unverified:<address>``.)"""
    project = oauth.project(
        generic("acme-sso", oauth.env.provider_url),
        **{"auth.oauth.accountMergeStrategy": strategy},
    )
    email = unique_login("taken")
    user_id = _existing_user(http, project, email, verified=account_verified)
    login = email if provider_verified else f"unverified:{email}"
    error = error_from(_callback(oauth, project, "acme-sso", login))
    assert error["errorCode"] == "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE"
    assert error["message"]
    assert json.loads(error["details"]) == {
        "type": "email",
        "contact_channel_value": email,
        "would_work_if_email_was_verified": would_work,
    }
    assert _linked(oauth, user_id) == []


def test_allow_duplicates_creates_a_user_whose_email_does_not_sign_in(oauth: OAuth) -> None:
    project = oauth.project(
        shared("github"), **{"auth.oauth.accountMergeStrategy": "allow_duplicates"}
    )
    email = unique_login("twice")
    user_id = _existing_user(oauth.http, project, email, verified=True)
    tokens = oauth.sign_in(project, "github", email)
    assert tokens["is_new_user"] is True
    user = oauth.me(project, tokens["access_token"])
    assert user["id"] != user_id
    channels = oauth.http.get(
        "/api/v1/contact-channels",
        headers=project.headers("server"),
        params={"user_id": user["id"]},
    ).json()["items"]
    assert [(c["value"], c["used_for_auth"]) for c in channels] == [(email, False)]


def test_a_provider_account_that_signs_in_another_user_cannot_be_linked(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    login = unique_login("owned")
    owner = oauth.sign_in(project, "github", login)
    owner_id = oauth.me(project, owner["access_token"])["id"]
    other_email = unique_login("other")
    other_id = _existing_user(oauth.http, project, other_email, verified=True)
    signed_in = sign_in_with_password(oauth.http, project, other_email, PASSWORD).json()
    error = error_from(
        _callback(oauth, project, "github", login, type="link", token=signed_in["access_token"])
    )
    assert error["errorCode"] == "OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER"
    assert _linked(oauth, other_id) == []
    assert _linked(oauth, owner_id) == ["github"]
