"""A project's own keys for a built-in provider: authorize sends the browser to that provider's
real authorization endpoint (Stack Auth's), with the project's client id, our callback, the
inner state and what the provider takes (scope, PKCE, nonce, extra parameters). Nothing is
fetched for a built-in provider, so this holds without reaching the provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.oauth.flow import BUILTIN, Flow, OAuth, shared

ENDPOINTS = {
    "github": "https://github.com/login/oauth/authorize",
    "google": "https://accounts.google.com/o/oauth2/v2/auth",
    "microsoft": "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize",
    "discord": "https://discord.com/oauth2/authorize",
    "gitlab": "https://gitlab.com/oauth/authorize",
    "bitbucket": "https://bitbucket.org/site/oauth2/authorize",
    "linkedin": "https://www.linkedin.com/oauth/v2/authorization",
    "spotify": "https://accounts.spotify.com/authorize",
    "twitch": "https://id.twitch.tv/oauth2/authorize",
    "x": "https://twitter.com/i/oauth2/authorize",
    "facebook": "https://facebook.com/v20.0/dialog/oauth/",
    "apple": "https://appleid.apple.com/auth/authorize",
}
# Each provider's own settings, where it has one.
EXTRA = {"microsoft": {"microsoftTenantId": "contoso.example"},
         "facebook": {"facebookConfigId": "fb-config-1"}}  # fmt: skip


@pytest.mark.parametrize("provider", BUILTIN)
def test_own_keys_send_the_browser_to_the_providers_own_endpoint(
    oauth: OAuth, provider: str
) -> None:
    entry = {"isShared": False, "clientId": f"own-{provider}-client", "clientSecret": "s"}
    project = oauth.project(shared(provider, **entry, **EXTRA.get(provider, {})))
    query = {**Flow(project, provider).query(), "stack_response_mode": "json"}
    r = oauth.http.get(f"/api/v1/auth/oauth/authorize/{provider}", params=query)
    assert r.status_code == 200, r.text
    location = urlsplit(r.json()["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ENDPOINTS[provider]
    sent = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert sent["client_id"] == f"own-{provider}-client"
    assert sent["redirect_uri"] == f"{oauth.env.api_url}/api/v1/auth/oauth/callback/{provider}"
    assert sent["response_type"] == "code"
    assert len(sent["state"]) >= 32
    assert sent["scope"]
    # PKCE towards every provider but LinkedIn (which refuses it, as Stack Auth knows).
    assert ("code_challenge" in sent) == (provider != "linkedin")
    if "code_challenge" in sent:
        assert sent["code_challenge_method"] == "S256"
    if provider == "facebook":
        assert sent["config_id"] == "fb-config-1"
    if provider == "apple":
        assert sent["response_mode"] == "form_post"
