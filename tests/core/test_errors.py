"""The error classes themselves: codes, statuses, detail keys, plain texts, ordinary definitions."""

from __future__ import annotations

import ast
import inspect
import json
import pkgutil
from collections import Counter
from pathlib import Path
from typing import TypeVar

import pytest

from authstack_core import errors
from authstack_core.errors import KnownError, PlainError, StatusError

E = TypeVar("E", bound=Exception)


def _classes(base: type[E]) -> list[type[E]]:
    found = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, base)}
    return sorted(found - {base, StatusError}, key=lambda c: c.__name__)


KNOWN = _classes(KnownError)
# A family member (e.g. PasswordTooCommon) is sent under its parent's code, with fixed details.
OWN_CODE = [c for c in KNOWN if "code" in c.__dict__]
PLAIN = _classes(PlainError)


def _detail_params(cls: type[Exception]) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.kind is p.KEYWORD_ONLY]


def _instance(cls: type[Exception]) -> KnownError:
    error = cls(**{name: f"value of {name}" for name in _detail_params(cls)})
    assert isinstance(error, KnownError)
    return error


def test_the_package_defines_the_contracts_known_errors() -> None:
    assert len(KNOWN) >= 66
    assert {"SchemaError", "RedirectUrlNotWhitelisted", "PasswordRequirementsNotMet"} <= {
        c.__name__ for c in KNOWN
    }


def test_every_known_code_is_defined_once() -> None:
    """A subclass may refine an error under its parent's code (a family member), never reuse it."""
    own_codes = Counter(c.code for c in OWN_CODE)
    assert [code for code, n in own_codes.items() if n > 1] == []
    for cls in set(KNOWN) - set(OWN_CODE):
        assert cls.__mro__[1] in OWN_CODE, cls


@pytest.mark.parametrize("cls", KNOWN, ids=lambda c: c.__name__)
def test_known_error_has_code_status_and_message(cls: type[KnownError]) -> None:
    assert cls.code.replace("_", "").isalpha()
    assert cls.code.isupper()
    assert 400 <= cls.status < 500
    assert cls.message.endswith(".")


@pytest.mark.parametrize("cls", OWN_CODE, ids=lambda c: c.__name__)
def test_known_error_body_has_exactly_its_declared_details(cls: type[KnownError]) -> None:
    error = _instance(cls)
    body = error.body()
    declared = _detail_params(cls)
    if declared:
        assert list(body) == ["code", "details", "error"]
        assert error.details is not None
        assert list(error.details) == declared
    else:
        assert list(body) == ["code", "error"]
    assert body["code"] == cls.code
    assert body["error"] == str(error)
    json.dumps(body)


def test_missing_or_misspelt_details_are_refused() -> None:
    with pytest.raises(TypeError):
        errors.TeamNotFound()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        errors.TeamNotFound(team=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        errors.UserNotFound(user_id="u")  # type: ignore[call-arg]


def test_details_are_the_declared_fields_in_order_inherited_first() -> None:
    class ParentError(KnownError, code="PARENT_ERROR", status=400, message="Parent."):
        second: int
        first: str

    class ChildError(ParentError):
        third: bool

    error = ChildError(first="a", second=2, third=True)
    assert error.details is not None
    assert list(error.details.items()) == [("second", 2), ("first", "a"), ("third", True)]
    assert (error.first, error.second, error.third) == ("a", 2, True)
    assert (error.code, error.status, str(error)) == ("PARENT_ERROR", 400, "Parent.")
    with pytest.raises(TypeError):
        ChildError(first="a", second=2)  # type: ignore[call-arg]


def test_wire_names_and_texts_that_clients_rely_on() -> None:
    assert errors.PasswordTooLong(maxLength=256).body() == {
        "code": "PASSWORD_TOO_LONG",
        "details": {"maxLength": 256},
        "error": "The password is too long.",
    }
    schema = errors.SchemaError(message="limit must be positive")
    assert schema.body() == {
        "code": "SCHEMA_ERROR",
        "details": {"message": "limit must be positive"},
        "error": "limit must be positive",
    }
    common = errors.PasswordTooCommon()
    assert isinstance(common, errors.PasswordRequirementsNotMet)
    assert common.body() == {
        "code": "PASSWORD_REQUIREMENTS_NOT_MET",
        "details": {
            "message": "This password is too common. Choose a less predictable one.",
            "reason": "PASSWORD_TOO_COMMON",
        },
        "error": "This password is too common. Choose a less predictable one.",
    }
    restricted = errors.RestrictedUserNotAllowed("No.", restricted_reason=None)
    assert restricted.body() == {
        "code": "RESTRICTED_USER_NOT_ALLOWED",
        "details": {"restricted_reason": None},
        "error": "No.",
    }
    assert errors.BodyParsingError("Not JSON.").text == "Not JSON."
    # The SDK rebuilds these two from details.message (upstream sends no details, which its own
    # parser cannot read).
    failed = errors.PasskeyAuthenticationFailed(message="This passkey is not registered.")
    assert failed.body() == {
        "code": "PASSKEY_AUTHENTICATION_FAILED",
        "details": {"message": "This passkey is not registered."},
        "error": "This passkey is not registered.",
    }
    assert errors.PasskeyRegistrationFailed().body()["details"] == {
        "message": "Passkey registration failed."
    }
    # Upstream's EmailRenderingError: the message wraps the error, details carry it alone.
    assert errors.EmailRenderingError(error="line 1: unexpected end").body() == {
        "code": "EMAIL_RENDERING_ERROR",
        "details": {"error": "line 1: unexpected end"},
        "error": "Failed to render email with theme: line 1: unexpected end",
    }
    assert errors.PasskeyAuthenticationNotEnabled().body() == {
        "code": "PASSKEY_AUTHENTICATION_NOT_ENABLED",
        "error": "Passkey authentication is not enabled for this project.",
    }


# The domain's plain errors and the exact status and text/plain body each has always had.
PLAIN_CASES: list[tuple[PlainError, int, str]] = [
    (errors.AnalyticsQueryNotFound(), 404, "Query not found."),
    (
        errors.AccountCreatedMeanwhile(),
        409,
        "The account for this email was created meanwhile; retry.",
    ),
    (errors.ApiKeySetNotFound(), 404, "API key set not found."),
    (
        errors.ImageStorageUnavailable(),
        503,
        "Image storage is unavailable, so the image was not saved and nothing was changed."
        " Try again later.",
    ),
    (errors.InvalidImage("it is not a PNG"), 400, "Invalid image: it is not a PNG."),
    (
        errors.SessionReplayStorageUnavailable(),
        503,
        "Session replay storage is unavailable, so the batch was not saved. Try again later.",
    ),
    (
        errors.SessionReplayBudgetExceeded(),
        413,
        "This project has used its session replay storage budget, so the batch was not saved.",
    ),
    (
        errors.SessionReplayBatchTooLarge(1000),
        413,
        "The session replay batch is too large (at most 1000 bytes).",
    ),
    (errors.SessionReplayNotFound(), 404, "Session replay not found."),
    (errors.NotificationCategoryNotFound(), 404, "Notification category not found."),
    (
        errors.NotificationCategoryCannotBeDisabled(),
        400,
        "This notification category cannot be disabled: its emails are always sent.",
    ),
    (errors.ApiKeysNotEnabled("team"), 400, "Team API keys are not enabled for this project."),
    (
        errors.BranchConfigSourceRequired(),
        400,
        "source is required for branch level config",
    ),
    (errors.ClientNeedsTeamId(), 400, "team_id is required for client access."),
    (
        errors.ContactChannelAlreadyExists(),
        400,
        "This user already has a contact channel with this value.",
    ),
    (errors.ContactChannelNotFound(), 404, "Contact channel not found."),
    (errors.ContactChannelToChangeNotFound(), 400, "Contact channel not found."),
    (
        errors.EmailNoLongerOnAccount(),
        400,
        "The email address this code was sent to is no longer on the account.",
    ),
    (errors.EmailTemplateNotFound("welcome"), 404, "Email template 'welcome' not found."),
    (errors.EmailThemeNotFound(), 404, "No theme found with given id"),
    (errors.UnknownEmailTheme(), 400, "No theme found with given id"),
    (errors.EmailDraftNotFound(), 404, "No draft found with given id"),
    (
        errors.EmailThemeLimitReached(20),
        400,
        "A project may have at most 20 email themes of its own.",
    ),
    (errors.EmailDraftLimitReached(100), 400, "A project may have at most 100 email drafts."),
    (errors.ExternalDatabaseNotFound("warehouse"), 404, "External database 'warehouse' not found."),
    (errors.InternalProjectUndeletable(), 400, "The internal project cannot be deleted."),
    (
        errors.InvalidPasswordHash(),
        400,
        "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format.",
    ),
    (
        errors.ProjectWithoutOwnerTeam(),
        400,
        "Project must have an owner team to be transferred.",
    ),
    (errors.InvalidConfigJson(), 400, "Invalid config JSON"),
    (errors.InvalidEmailTheme(), 400, "Invalid email theme"),
    (errors.NotOwnApiKeys(), 403, "A client can only manage its own API keys."),
    (errors.WebhookEndpointNotFound(), 404, "Webhook endpoint not found."),
    (errors.WebhookMessageNotFound(), 404, "Webhook message not found."),
    (errors.WebhookUrlRefused(), 400, "This webhook URL is not allowed."),
    (errors.SvixUnavailable(), 502, "Svix did not answer the request."),
    (
        errors.NotOwnTeamMemberProfile(),
        403,
        "A client can only update its own team member profile.",
    ),
    (errors.OtpSignInNotEnabled(), 403, "OTP sign-in is not enabled for this project."),
    (
        errors.ServerAccessBranchOnly(),
        403,
        "Server access can only manage branch config overrides.",
    ),
    (errors.SystemPermissionReadOnly(), 400, "System permissions cannot be changed or deleted."),
    # OAuth sign-in (errors/oauth.py); the callback's texts are upstream's.
    (
        errors.InnerOAuthCookieNotFound(),
        400,
        "Inner OAuth cookie not found. This is likely because you refreshed the page during the "
        "OAuth sign in process. Please try signing in again",
    ),
    (errors.InvalidOAuthState(), 400, "Invalid OAuth state. Please try signing in again."),
    (
        errors.InnerOAuthCallbackFailed(),
        400,
        "Inner OAuth callback failed due to invalid grant. Please try again.",
    ),
    (
        errors.InvalidProviderIdToken(),
        400,
        "The OAuth provider's ID token is not valid (signature, issuer, audience, nonce or "
        "expiry). Please try signing in again.",
    ),
    (
        errors.OAuthProviderUnavailable(),
        502,
        "The OAuth provider could not be reached, or answered in a way this server does not "
        "understand. Please try again later.",
    ),
    (
        errors.OAuthProviderAddressRefused(),
        400,
        "The OAuth provider's address is on a private or reserved network, which this server "
        "does not connect to for a project's own provider.",
    ),
    (
        errors.OAuthProviderNotConfigured(),
        400,
        "This OAuth provider has no client keys: the operator sets the shared ones "
        "(STACK_<PROVIDER>_CLIENT_ID and _CLIENT_SECRET), or the project sets its own.",
    ),
    (errors.OAuthLinkNeedsToken(), 400, "?token= query parameter is required for link type"),
    (errors.OAuthTokenForAnotherProject(), 403, "The access token is not valid for this project"),
    (
        errors.OAuthRedirectUriMismatch(),
        400,
        "Invalid redirect URI. Your redirect URI must be the same as the one used to get the "
        "authorization code.",
    ),
    (
        errors.OAuthAccountNotFound("account-id", "user-id"),
        404,
        "OAuth provider account-id for user user-id not found",
    ),
    (
        errors.OAuthProviderNotConfiguredForAccount("spotify"),
        404,
        "OAuth provider spotify not found or not configured",
    ),
    (errors.OAuthProviderOfNewUserNotFound("spotify"), 400, "OAuth provider spotify not found"),
    (
        errors.OAuthSignInAccountOfTypeExists(),
        400,
        "The same provider type with sign-in enabled already exists for this user.",
    ),
    (
        errors.OAuthAccountOfTypeExists(),
        400,
        "The same provider type with the same account ID already exists for this user.",
    ),
    (
        errors.OAuthProviderTokenRejected(),
        502,
        "The OAuth provider could not be reached, or answered in a way this server does not "
        "understand. Please try again later.",
    ),
    # CLI sign-in (errors/cli_auth.py); upstream's texts.
    (errors.CliLoginCodeInvalid(), 400, "Invalid login code or the code has expired"),
    (errors.CliAnonRefreshTokenInvalid(), 400, "Invalid anon refresh token"),
    (
        errors.CliAnonRefreshTokenNotAnonymous(),
        400,
        "The provided refresh token does not belong to an anonymous user",
    ),
    (errors.CliNoAnonymousSession(), 400, "No anonymous session associated with this code"),
    (
        errors.CliRefreshTokenRequired(),
        400,
        "refresh_token is required when mode is 'complete'",
    ),
    (errors.CliRefreshTokenInvalid(), 400, "Invalid refresh token"),
    (
        errors.PasskeyCannotBeEnabledManually(),
        400,
        "Cannot manually enable passkey auth, it is enabled iff there is a passkey auth method",
    ),
    (
        errors.UserAlreadyHasPassword(),
        400,
        "This user already has a password; change it with /auth/password/update.",
    ),
]


@pytest.mark.parametrize(("error", "status", "text"), PLAIN_CASES, ids=lambda v: str(v)[:40])
def test_plain_error_keeps_its_status_and_text(error: PlainError, status: int, text: str) -> None:
    assert (error.status, error.text, str(error)) == (status, text, text)


def test_every_plain_error_class_is_pinned() -> None:
    assert sorted(type(e).__name__ for e, _, _ in PLAIN_CASES) == [c.__name__ for c in PLAIN]


def test_status_error_takes_its_status_at_the_raise_site() -> None:
    error = StatusError(418, "No coffee here.")
    assert (error.status, error.text) == (418, "No coffee here.")
    assert isinstance(error, PlainError)


def test_every_error_is_an_ordinary_class_statement() -> None:
    """No error is built with ``type(...)``: each is a ``class`` statement mypy can check."""
    package = Path(errors.__file__).parent
    defined: set[str] = set()
    for info in pkgutil.iter_modules([str(package)]):
        tree = ast.parse((package / f"{info.name}.py").read_text())
        defined |= {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "type"
        ]
        assert calls == [], info.name
    assert {c.__name__ for c in KNOWN + PLAIN} <= defined
