"""Request bodies: msgspec structs that refuse unknown fields (SCHEMA_ERROR), as upstream does."""

from __future__ import annotations

from collections.abc import Callable
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    TypeVar,
    get_args,
    get_origin,
    get_type_hints,
)

import msgspec
from litestar.exceptions import ValidationException
from msgspec import UNSET, Meta, UnsetType

from authstack_core.email_address import EmailError, normalize_email
from authstack_core.errors import StatusError
from authstack_core.models import users as user_models
from authstack_core.models.contact_channels import ContactChannelChanges
from authstack_core.models.images import MAX_DATA_URL_CHARS
from authstack_core.models.projects import (
    LEGACY_FLAGS,
    LEGACY_PERMISSION_GROUPS,
    LEGACY_WRITE_ONLY_FLAGS,
    LOGO_FIELDS,
    ProjectChanges,
)
from authstack_core.models.teams import MemberProfileChanges, TeamChanges
from authstack_core.urls import parse_web_url

T = TypeVar("T")


def _normalized_email(name: str, value: str) -> str:
    try:
        return normalize_email(value)
    except EmailError as exc:
        raise ValueError(f"{name} must be a valid email ({exc})") from None


def _absolute_url(name: str, value: str) -> str:
    if parse_web_url(value) is None:
        raise ValueError(f"{name} is not a valid URL")
    return value


# Checks Strict.__post_init__ runs on the fields annotated with them (msgspec ignores annotations
# that are not its own): each returns the value to keep or raises ValueError, which msgspec turns
# into a validation error (SCHEMA_ERROR on the wire).
_CHECKS = (_normalized_email, _absolute_url)
# The pattern documents the shape in the OpenAPI document and refuses obvious garbage early;
# every Email field is then normalised by authstack_core.email_address in Strict.__post_init__,
# which is the real gate (NFKC, IDNA domain, no control or invisible characters). ``\Z``, not
# ``$``: Python's ``$`` also matches before a trailing newline, which let "a@b.com\n" through.
EMAIL_PATTERN = r"^[^\s@\"<>()\[\],;:\\]+@[^\s@\"<>()\[\],;:\\]+\.[^\s@\"<>()\[\],;:\\.]+\Z"
Email = Annotated[str, Meta(max_length=256, pattern=EMAIL_PATTERN), _normalized_email]
Password = Annotated[str, Meta(max_length=4096)]  # rules (8-70) give their own errors
DisplayName = Annotated[str, Meta(max_length=256)]
Url = Annotated[str, Meta(max_length=4096)]
# Image fields: an absolute URL, as upstream's URL schema wants: a base64 data URL of an image
# (stored, and replaced by its public URL) or, from a server, an https link (see domain/images).
ImageUrl = Annotated[str, Meta(max_length=MAX_DATA_URL_CHARS), _absolute_url]
Score = Annotated[int, Meta(ge=0, le=100)]
# The shape (45 characters) is checked where the code is used.
VerificationCode = Annotated[str, Meta(max_length=64)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}\Z")]


def _check_of(hint: Any) -> Callable[[str, str], str] | None:
    if get_origin(hint) is Annotated:
        found = next((m for m in hint.__metadata__ if m in _CHECKS), None)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return next(filter(None, map(_check_of, get_args(hint))), None)


_FIELD_CHECKS: dict[type, list[tuple[str, Callable[[str, str], str]]]] = {}


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    def __post_init__(self) -> None:
        checks = _FIELD_CHECKS.get(type(self))
        if checks is None:
            hints = get_type_hints(type(self), include_extras=True).items()
            found = ((name, _check_of(hint)) for name, hint in hints)
            checks = _FIELD_CHECKS[type(self)] = [(n, c) for n, c in found if c is not None]
        for name, check in checks:
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, check(name, value))


def check_client_image(url: str | None | UnsetType) -> None:
    """A client may set a profile image only as a base64 data URL of an image, never a link to
    one (upstream's plain 400 otherwise; a server may also link one over https)."""
    if isinstance(url, str) and not url.startswith("data:image/"):
        raise StatusError(400, "Invalid profile image URL")


class BotChallenge(Strict, kw_only=True):
    """The bot-challenge fields the SDK may send with a sign-up or a sign-in code (unused yet)."""

    bot_challenge_token: str | None = None
    bot_challenge_phase: str | None = None
    bot_challenge_unavailable: str | None = None


class SignUpBody(BotChallenge):
    email: Email
    password: Password
    verification_callback_url: Url | None = None


class CallbackBody(Strict):
    """The (trusted) page the link of an emailed code opens."""

    callback_url: Url


class EmailCallbackBody(Strict):
    """An address to email a code to, and the (trusted) page the email's link opens."""

    email: Email
    callback_url: Url


class CodeBody(Strict):
    """The body of every ``.../check-code`` endpoint and of code-only actions."""

    code: VerificationCode


class SignInBody(Strict):
    email: Email
    password: Password


class CreateSessionBody(Strict):
    user_id: str
    expires_in_millis: Annotated[int, Meta(ge=1, le=367 * 86_400_000)] | None = None
    is_impersonation: bool = False


class SignUpRiskScores(user_models.SignUpRiskScores, Strict):
    bot: Score
    free_trial_abuse: Score


class RiskScores(user_models.RiskScores, Strict):
    sign_up: SignUpRiskScores


class ClientUserUpdate(Strict):
    display_name: DisplayName | None | UnsetType = UNSET
    profile_image_url: ImageUrl | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET
    selected_team_id: str | None | UnsetType = UNSET
    totp_secret_base64: str | None | UnsetType = UNSET
    otp_auth_enabled: bool | UnsetType = UNSET
    passkey_auth_enabled: bool | UnsetType = UNSET
    primary_email: Email | UnsetType = UNSET


# A body that *is* the core's change object, with the wire's limits on the fields that have
# some (the rest are inherited as they are), goes to the domain as it was decoded.
class ServerUserUpdate(user_models.UserChanges, Strict):
    display_name: DisplayName | None | UnsetType = UNSET
    profile_image_url: ImageUrl | None | UnsetType = UNSET
    primary_email: Email | None | UnsetType = UNSET
    password: Password | None | UnsetType = UNSET
    country_code: CountryCode | None | UnsetType = UNSET
    risk_scores: RiskScores | UnsetType = UNSET


class OAuthProviderInput(Strict):
    id: str
    account_id: str
    email: str | None = None


class ServerUserCreate(Strict):
    display_name: DisplayName | None = None
    profile_image_url: ImageUrl | None = None
    client_metadata: Any = None
    client_read_only_metadata: Any = None
    server_metadata: Any = None
    totp_secret_base64: str | None = None
    otp_auth_enabled: bool = False
    # Accepted and ignored, as upstream: a passkey comes only from registering one.
    passkey_auth_enabled: bool = False
    primary_email: Email | None = None
    primary_email_verified: bool = False
    primary_email_auth_enabled: bool = False
    password: Password | None = None
    password_hash: str | None = None
    is_anonymous: bool = False
    restricted_by_admin: bool = False
    restricted_by_admin_reason: str | None = None
    restricted_by_admin_private_details: str | None = None
    country_code: CountryCode | None = None
    risk_scores: RiskScores | None = None
    oauth_providers: list[OAuthProviderInput] | None = None


# --- admin: projects and their legacy config (contract §1.5, §10) ---------------------------------
OAuthProviderId = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}\Z")]
PermissionId = Annotated[str, Meta(pattern=r"^\$?[a-z0-9_:]{1,128}\Z")]
ProjectName = Annotated[str, Meta(min_length=1, max_length=256)]
Description = Annotated[str, Meta(max_length=4096)]
ShortText = Annotated[str, Meta(max_length=1024)]
HandlerPath = Annotated[str, Meta(pattern=r"^/", max_length=1024)]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^\s/?#]+[^\s]*\Z", max_length=2048)]


class OAuthProviderConfig(Strict):
    id: OAuthProviderId
    type: Literal["shared", "standard"]
    client_id: ShortText | None = None
    client_secret: ShortText | None = None
    facebook_config_id: ShortText | None = None
    microsoft_tenant_id: ShortText | None = None
    apple_bundle_ids: list[ShortText] | None = None
    # ours: a generic OpenID Connect provider (an id no built-in provider has) by its issuer
    issuer_url: HttpUrl | None = None


class DomainConfig(Strict):
    domain: HttpUrl
    handler_path: HandlerPath = "/handler"


class EmailConfig(Strict):
    type: Literal["shared", "standard"]
    host: ShortText | None = None
    port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    username: ShortText | None = None
    password: ShortText | None = None
    sender_name: ShortText | None = None
    sender_email: Email | None = None


class PermissionRef(Strict):
    id: PermissionId


class _LegacyConfigObjects(Strict):
    """The fields of the legacy config object besides its flags and default-permission lists."""

    oauth_providers: list[OAuthProviderConfig] | UnsetType = UNSET
    domains: Annotated[list[DomainConfig], Meta(max_length=256)] | UnsetType = UNSET
    email_config: EmailConfig | UnsetType = UNSET
    email_theme: ShortText | UnsetType = UNSET
    oauth_account_merge_strategy: (
        Literal["link_method", "raise_error", "allow_duplicates"] | UnsetType
    ) = UNSET


# The flat boolean flags and the default-permission lists are the fields the core's tables name
# (LEGACY_FLAGS, LEGACY_WRITE_ONLY_FLAGS, LEGACY_PERMISSION_GROUPS), so one added there is
# accepted here too. The body is only ever read as builtins (routes/projects.py), so type
# checkers need no more than the base.
if TYPE_CHECKING:
    LegacyProjectConfig = _LegacyConfigObjects
else:
    LegacyProjectConfig = msgspec.defstruct(
        "LegacyProjectConfig",
        [(name, bool | UnsetType, UNSET) for name in (*LEGACY_FLAGS, *LEGACY_WRITE_ONLY_FLAGS)]
        + [(name, list[PermissionRef] | UnsetType, UNSET) for name in LEGACY_PERMISSION_GROUPS],
        bases=(_LegacyConfigObjects,),
        module=__name__,
    )


def _is_logo_url(value: str) -> bool:
    url = parse_web_url(value)
    if url is None:
        return False
    if url.scheme == "data":
        return url.path.startswith("image/")
    return url.scheme == "https" and url.host_kind != "none"


class ProjectUpdate(ProjectChanges, Strict):
    display_name: ProjectName | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET
    is_production_mode: bool | UnsetType = UNSET
    config: LegacyProjectConfig | None | UnsetType = UNSET

    def __post_init__(self) -> None:
        """A logo (the fields of ProjectChanges) is an https URL or an image's data URL."""
        super().__post_init__()
        for name in LOGO_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and not _is_logo_url(value):
                raise ValueError(f"{name} is not a valid https or data:image URL")


class ProjectCreate(ProjectUpdate, kw_only=True):
    display_name: ProjectName
    owner_team_id: str
    is_development_environment: bool = False


class ProjectTransfer(Strict):
    project_id: str
    new_team_id: str


class ApiKeySetCreate(Strict):
    description: Description
    expires_at_millis: int
    has_publishable_client_key: bool
    has_secret_server_key: bool
    has_super_secret_admin_key: bool


class ApiKeySetUpdate(Strict):
    description: Description | UnsetType = UNSET
    revoked: bool | UnsetType = UNSET


# --- teams, permissions, contact channels, API keys (contract §5.4) -------------------------------
# PermissionId (system ids allowed) is defined with the admin structs above.
CustomPermissionId = Annotated[str, Meta(pattern=r"^[a-z0-9_:]{1,128}\Z")]
MillisTimestamp = Annotated[int, Meta(ge=0, le=253_402_300_799_999)]  # up to year 9999


class ClientTeamUpdate(Strict):
    display_name: DisplayName | UnsetType = UNSET
    profile_image_url: ImageUrl | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET


class ServerTeamUpdate(TeamChanges, Strict):
    display_name: DisplayName | UnsetType = UNSET
    profile_image_url: ImageUrl | None | UnsetType = UNSET


class ClientTeamCreate(Strict):
    display_name: DisplayName
    profile_image_url: ImageUrl | None = None
    client_metadata: Any = None
    creator_user_id: str | None = None


class ServerTeamCreate(ClientTeamCreate):
    client_read_only_metadata: Any = None
    server_metadata: Any = None


class EmptyBody(Strict):
    pass


class MemberProfileUpdate(MemberProfileChanges, Strict):
    display_name: DisplayName | UnsetType = UNSET
    profile_image_url: ImageUrl | None | UnsetType = UNSET


class PermissionDefinitionCreate(Strict):
    id: CustomPermissionId
    description: str | None = None
    contained_permission_ids: list[PermissionId] | None = None


class PermissionDefinitionUpdate(Strict):
    id: CustomPermissionId | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    contained_permission_ids: list[PermissionId] | UnsetType = UNSET


class ContactChannelCreate(Strict):
    user_id: str
    value: Email
    type: Literal["email"]
    used_for_auth: bool
    is_primary: bool | None = None
    is_verified: bool | None = None


class ContactChannelUpdate(ContactChannelChanges, Strict):
    value: Email | UnsetType = UNSET
    type: Literal["email"] | UnsetType = UNSET


class ApiKeyCreate(Strict, kw_only=True):
    """Creating a key of either kind; each kind's body adds its owner (user_id or team_id)."""

    description: str
    expires_at_millis: MillisTimestamp | None
    is_public: bool = False


class UserApiKeyCreate(ApiKeyCreate, kw_only=True):
    user_id: str


class TeamApiKeyCreate(ApiKeyCreate, kw_only=True):
    team_id: str


class ApiKeyUpdate(Strict):
    description: str | UnsetType = UNSET
    expires_at_millis: MillisTimestamp | None | UnsetType = UNSET
    revoked: Literal[True] | UnsetType = UNSET


class SendInvitationBody(Strict):
    team_id: str
    email: Email
    callback_url: Url


class InvitationCodeBody(Strict):
    code: Annotated[str, Meta(max_length=256)]


class ApiKeyCheck(Strict):
    api_key: Annotated[str, Meta(max_length=512)]


def changes_as(update: msgspec.Struct, changes: type[T]) -> T:
    """A validated PATCH body as the core's change object: the fields it sent, the rest UNSET.

    The body's own type did the checking (constraints, normalised emails); this only carries
    the sent values, nested structs included, into the type the domain and queries take.
    """
    return msgspec.convert(msgspec.to_builtins(update), changes)


def convert(data: Any, model: type[T]) -> T:
    """Validate an already-decoded body against ``model``; refused as Litestar refuses a body
    that does not fit a handler's ``data`` type (SCHEMA_ERROR, see ``validation``)."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        key = path.removeprefix(".").removesuffix("`") or "data"
        raise ValidationException(
            extra=[{"message": message, "key": key, "source": "body"}]
        ) from None
