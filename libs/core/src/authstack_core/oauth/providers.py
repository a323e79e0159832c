"""The providers: where each one's endpoints are, what to ask for, how to read who signed in.

Endpoints and scopes of the twelve built-in providers are Stack Auth's (so an OAuth app
registered for Stack Auth works unchanged); the profile of a built-in provider is read from its
own API over TLS with the access token just obtained. An OpenID Connect provider found by
discovery (the MOCK convention, a generic provider) is read from its validated ID token and its
userinfo endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client

from authstack_core.errors import OAuthProviderTokenRejected, OAuthProviderUnavailable
from authstack_core.models.oauth import ProviderProfile
from authstack_core.oauth.http import get_json

TokenAuth = Literal["client_secret_basic", "client_secret_post"]
Obj = dict[str, Any]
MAX_NAME_LENGTH = 256
MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class ProfileSource:
    """What a profile reader may use: the provider's client (its transport already chosen), the
    access token, the validated ID token's claims (if one came) and the app's endpoints."""

    http: AsyncOAuth2Client
    access_token: str = field(repr=False)
    id_token_claims: Mapping[str, Any] | None
    userinfo_url: str | None
    client_id: str

    async def _get(self, url: str, headers: Mapping[str, str] | None) -> Any:
        try:
            # The token goes in the header here, not through authlib's token refresh logic.
            return await get_json(
                self.http,
                url,
                withhold_token=True,
                headers={"Authorization": f"Bearer {self.access_token}", **(headers or {})},
            )
        except httpx2.HTTPStatusError as exc:
            if exc.response.status_code == 401:
                raise OAuthProviderTokenRejected() from None
            raise OAuthProviderUnavailable() from None
        except (httpx2.HTTPError, ValueError):
            raise OAuthProviderUnavailable() from None

    async def get_object(self, url: str, headers: Mapping[str, str] | None = None) -> Obj:
        """GET ``url`` with the access token; OAuthProviderUnavailable unless a JSON object."""
        found = await self._get(url, headers)
        if not isinstance(found, dict):
            raise OAuthProviderUnavailable()
        return found

    async def get_list(self, url: str, headers: Mapping[str, str] | None = None) -> list[Any]:
        """GET ``url`` with the access token; OAuthProviderUnavailable unless a JSON array."""
        found = await self._get(url, headers)
        if not isinstance(found, list):
            raise OAuthProviderUnavailable()
        return found


ProfileReader = Callable[[ProfileSource], Awaitable[ProviderProfile]]
_OFFLINE: Mapping[str, str] = {"access_type": "offline", "prompt": "consent"}


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How one kind of provider is spoken to. ``None`` endpoints come from discovery."""

    scope: str
    read_profile: ProfileReader
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    jwks_url: str | None = None
    # The ID token's issuer; "{tenantid}" stands for the token's own tid claim (Microsoft).
    issuer: str | None = None
    token_auth: TokenAuth = "client_secret_basic"
    pkce: bool = True
    # Stack Auth asks every provider for offline access and a fresh consent.
    extra_params: Mapping[str, str] = field(default_factory=lambda: _OFFLINE)
    # An ID token is where the profile comes from: the token response must carry one.
    needs_id_token: bool = False
    # Lifetime of an access token whose response states none (GitHub's last 8 hours of disuse).
    default_expires_in: int = 3600
    # Microsoft wants the scope again when the code is redeemed.
    scope_in_token_request: bool = False

    @property
    def openid(self) -> bool:
        """Whether an ID token is validated (and a nonce sent): a key set is known or found."""
        return self.jwks_url is not None or self.authorize_url is None


def _is_true(value: object) -> bool:
    # Some providers (Apple, Cognito) send booleans as the strings "true" / "false".
    return value is True or value == "true"


def _text(value: object, limit: int = MAX_NAME_LENGTH) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


def _image(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value if len(value) <= MAX_URL_LENGTH else None
    return None


def profile(
    account_id: object,
    email: object,
    email_verified: object,
    display_name: object = None,
    image: object = None,
) -> ProviderProfile:
    """A profile from a provider's raw values; OAuthProviderUnavailable without an account id."""
    if isinstance(account_id, int) and not isinstance(account_id, bool):
        account_id = str(account_id)
    if not isinstance(account_id, str) or not account_id or len(account_id) > 512:
        raise OAuthProviderUnavailable()
    address = _text(email, 320)
    return ProviderProfile(
        account_id=account_id,
        email=address,
        email_verified=address is not None and _is_true(email_verified),
        display_name=_text(display_name),
        profile_image_url=_image(image),
    )


def _first(items: object, match: Callable[[Obj], bool] = lambda _: True) -> Obj:
    """The first object of ``items`` that ``match`` accepts, else the first object, else {}."""
    found = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return next((i for i in found if match(i)), found[0] if found else {})


def _dig(value: object, *keys: str) -> object:
    """``value[k1][k2]...``, or None where a level is missing or not an object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# --- profile readers ----------------------------------------------------------------------------
_GITHUB = {"X-GitHub-Api-Version": "2022-11-28", "Accept": "application/vnd.github+json"}


async def _github(src: ProfileSource) -> ProviderProfile:
    user = await src.get_object("https://api.github.com/user", _GITHUB)
    emails = await src.get_list("https://api.github.com/user/emails", _GITHUB)
    primary = _first(emails, lambda e: e.get("primary") is True)
    return profile(
        user.get("id"), primary.get("email"), primary.get("verified"), user.get("name"),
        user.get("avatar_url"),
    )  # fmt: skip


async def _userinfo(src: ProfileSource) -> ProviderProfile:
    """An OpenID Connect userinfo endpoint's standard claims (Google, LinkedIn)."""
    assert src.userinfo_url is not None
    info = await src.get_object(src.userinfo_url)
    return profile(
        info.get("sub"), info.get("email"), info.get("email_verified"), info.get("name"),
        info.get("picture"),
    )  # fmt: skip


async def _microsoft(src: ProfileSource) -> ProviderProfile:
    me = await src.get_object("https://graph.microsoft.com/v1.0/me")
    # Microsoft does not promise that the address was verified, so it is never trusted as such.
    email = me.get("mail") or me.get("userPrincipalName")
    return profile(me.get("id"), email, False, me.get("displayName"))


async def _discord(src: ProfileSource) -> ProviderProfile:
    me = await src.get_object("https://discord.com/api/users/@me")
    avatar = me.get("avatar")
    image = None
    if isinstance(avatar, str):
        kind = "gif" if avatar.startswith("a_") else "png"
        image = f"https://cdn.discordapp.com/avatars/{me.get('id')}/{avatar}.{kind}"
    name = me.get("global_name") or me.get("username")
    return profile(me.get("id"), me.get("email"), me.get("verified"), name, image)


async def _gitlab(src: ProfileSource) -> ProviderProfile:
    user = await src.get_object("https://gitlab.com/api/v4/user")
    address = user.get("email")
    emails = await src.get_list("https://gitlab.com/api/v4/user/emails")
    entry = _first(emails, lambda e: e.get("email") == address)
    confirmed = entry.get("email") == address and entry.get("confirmed_at") is not None
    return profile(user.get("id"), address, confirmed, user.get("name"), user.get("avatar_url"))


async def _bitbucket(src: ProfileSource) -> ProviderProfile:
    user = await src.get_object("https://api.bitbucket.org/2.0/user")
    emails = await src.get_object("https://api.bitbucket.org/2.0/user/emails")
    entry = _first(emails.get("values"), lambda e: e.get("is_primary") is True)
    return profile(
        user.get("account_id"), entry.get("email"), entry.get("is_confirmed"),
        user.get("display_name"), _dig(user, "links", "avatar", "href"),
    )  # fmt: skip


async def _spotify(src: ProfileSource) -> ProviderProfile:
    me = await src.get_object("https://api.spotify.com/v1/me")
    image = _first(me.get("images")).get("url")
    # Spotify does not verify addresses.
    return profile(me.get("id"), me.get("email"), False, me.get("display_name"), image)


async def _twitch(src: ProfileSource) -> ProviderProfile:
    body = await src.get_object("https://api.twitch.tv/helix/users", {"Client-Id": src.client_id})
    user = _first(body.get("data"))
    # Twitch hands out only verified addresses (user:read:email).
    return profile(
        user.get("id"), user.get("email"), True, user.get("display_name"),
        user.get("profile_image_url"),
    )  # fmt: skip


async def _x(src: ProfileSource) -> ProviderProfile:
    body = await src.get_object(
        "https://api.x.com/2/users/me?user.fields=id,name,profile_image_url"
    )
    user = body.get("data")
    user = user if isinstance(user, dict) else {}
    # X's OAuth 2.0 API gives no email address.
    name = user.get("name") or user.get("username")
    return profile(user.get("id"), None, False, name, user.get("profile_image_url"))


async def _facebook(src: ProfileSource) -> ProviderProfile:
    me = await src.get_object(
        "https://graph.facebook.com/v20.0/me?fields=id,name,email,picture.type(small)"
    )
    image = _dig(me, "picture", "data", "url")
    # Facebook's documentation does not promise a verified address.
    return profile(me.get("id"), me.get("email"), False, me.get("name"), image)


async def _from_id_token(src: ProfileSource) -> ProviderProfile:
    claims = src.id_token_claims or {}
    return profile(claims.get("sub"), claims.get("email"), claims.get("email_verified"))


async def _openid(src: ProfileSource) -> ProviderProfile:
    """The ID token's subject, with the userinfo endpoint's claims (same subject) over its own;
    the userinfo endpoint's alone when there is no ID token (a stored access token's check)."""
    claims: dict[str, Any] = dict(src.id_token_claims or {})
    if src.userinfo_url is not None:
        info = await src.get_object(src.userinfo_url)
        # OpenID Connect Core §5.3.2
        if src.id_token_claims is not None and info.get("sub") != claims.get("sub"):
            raise OAuthProviderUnavailable()
        claims.update(info)
    name = claims.get("name") or claims.get("preferred_username")
    return profile(
        claims.get("sub"), claims.get("email"), claims.get("email_verified"), name,
        claims.get("picture"),
    )  # fmt: skip


async def _mock(src: ProfileSource) -> ProviderProfile:
    """Stack Auth's development convention: the account's email is its ``sub``, verified."""
    found = await _openid(src)
    return profile(found.account_id, found.account_id, True, found.display_name)


# --- the table ----------------------------------------------------------------------------------
_MS = "https://login.microsoftonline.com/{tenant}"

BUILTIN: dict[str, ProviderSpec] = {
    "github": ProviderSpec(
        "user:email", _github, "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token", default_expires_in=8 * 3600,
    ),
    "google": ProviderSpec(
        "https://www.googleapis.com/auth/userinfo.email "
        "https://www.googleapis.com/auth/userinfo.profile",
        _userinfo, "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
        jwks_url="https://www.googleapis.com/oauth2/v3/certs",
        issuer="https://accounts.google.com",
        extra_params={**_OFFLINE, "include_granted_scopes": "true"},
    ),
    "microsoft": ProviderSpec(
        "User.Read openid", _microsoft, _MS + "/oauth2/v2.0/authorize",
        _MS + "/oauth2/v2.0/token", jwks_url=_MS + "/discovery/v2.0/keys",
        issuer="https://login.microsoftonline.com/{tenantid}/v2.0", scope_in_token_request=True,
    ),
    "discord": ProviderSpec(
        "identify email", _discord, "https://discord.com/oauth2/authorize",
        "https://discord.com/api/oauth2/token",
    ),
    "gitlab": ProviderSpec(
        "read_user", _gitlab, "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
    ),
    "bitbucket": ProviderSpec(
        "account email", _bitbucket, "https://bitbucket.org/site/oauth2/authorize",
        "https://bitbucket.org/site/oauth2/access_token",
    ),
    "linkedin": ProviderSpec(
        "openid profile email", _userinfo, "https://www.linkedin.com/oauth/v2/authorization",
        "https://www.linkedin.com/oauth/v2/accessToken",
        userinfo_url="https://api.linkedin.com/v2/userinfo",
        jwks_url="https://www.linkedin.com/oauth/openid/jwks",
        issuer="https://www.linkedin.com/oauth", token_auth="client_secret_post", pkce=False,
    ),
    "spotify": ProviderSpec(
        "user-read-email user-read-private", _spotify, "https://accounts.spotify.com/authorize",
        "https://accounts.spotify.com/api/token",
    ),
    "twitch": ProviderSpec(
        "user:read:email", _twitch, "https://id.twitch.tv/oauth2/authorize",
        "https://id.twitch.tv/oauth2/token", token_auth="client_secret_post",
    ),
    "x": ProviderSpec(
        "users.read offline.access tweet.read", _x, "https://twitter.com/i/oauth2/authorize",
        "https://api.x.com/2/oauth2/token",
    ),
    "facebook": ProviderSpec(
        "openid public_profile email", _facebook, "https://facebook.com/v20.0/dialog/oauth/",
        "https://graph.facebook.com/v20.0/oauth/access_token",
        jwks_url="https://www.facebook.com/.well-known/oauth/openid/jwks",
        issuer="https://www.facebook.com",
    ),
    "apple": ProviderSpec(
        "name email", _from_id_token, "https://appleid.apple.com/auth/authorize",
        "https://appleid.apple.com/auth/token", jwks_url="https://appleid.apple.com/auth/keys",
        issuer="https://appleid.apple.com", token_auth="client_secret_post",
        needs_id_token=True, extra_params={**_OFFLINE, "response_mode": "form_post"},
    ),
}  # fmt: skip

# Discovered OpenID Connect providers: STACK_<TYPE>_CLIENT_ID=MOCK, and any generic one.
MOCK = ProviderSpec("openid offline_access", _mock, needs_id_token=True)
GENERIC_OIDC = ProviderSpec("openid email profile", _openid, needs_id_token=True)
