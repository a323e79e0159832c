"""Errors about users: passwords, contact channels, verification codes, emails and MFA."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.email_address import email_key
from authstack_core.errors.base import KnownError, PlainError


# --- users and passwords --------------------------------------------------------------------------
class UserEmailAlreadyExists(
    KnownError,
    code="USER_EMAIL_ALREADY_EXISTS",
    status=409,
    message="A user with this email address already exists.",
):
    email: str
    would_work_if_email_was_verified: bool

    def __init__(self, *, email: str, would_work_if_email_was_verified: bool) -> None:
        # ``email`` in its normalised form, whatever spelling the request used: upstream lowers
        # the case; ours folds ASCII letters only (email_key, the rule that says two addresses
        # are the same account).
        KnownError.__init__(self)
        self.email = email_key(email)
        self.would_work_if_email_was_verified = would_work_if_email_was_verified
        self.details = {
            "email": self.email,
            "would_work_if_email_was_verified": would_work_if_email_was_verified,
        }


class EmailPasswordMismatch(
    KnownError, code="EMAIL_PASSWORD_MISMATCH", status=400, message="Wrong e-mail or password."
):
    pass


class PasswordTooShort(
    KnownError, code="PASSWORD_TOO_SHORT", status=400, message="The password is too short."
):
    min_length: int


class PasswordTooLong(
    KnownError, code="PASSWORD_TOO_LONG", status=400, message="The password is too long."
):
    maxLength: int  # noqa: N815 - upstream's camelCase detail


class PasswordConfirmationMismatch(
    KnownError,
    code="PASSWORD_CONFIRMATION_MISMATCH",
    status=400,
    message="The old password is not correct.",
):
    pass


class UserDoesNotHavePassword(
    KnownError,
    code="USER_DOES_NOT_HAVE_PASSWORD",
    status=400,
    message="This user has no password set.",
):
    pass


class PasswordAuthenticationNotEnabled(
    KnownError,
    code="PASSWORD_AUTHENTICATION_NOT_ENABLED",
    status=400,
    message="Password sign-in is not enabled for this project.",
):
    pass


class SignUpNotEnabled(
    KnownError,
    code="SIGN_UP_NOT_ENABLED",
    status=400,
    message="Sign-up is not enabled for this project.",
):
    pass


class CannotGetOwnUserWithoutUser(
    KnownError,
    code="CANNOT_GET_OWN_USER_WITHOUT_USER",
    status=400,
    message="There is no signed-in user to act as 'me'.",
):
    pass


class UserAuthenticationRequired(
    KnownError,
    code="USER_AUTHENTICATION_REQUIRED",
    status=401,
    message="This endpoint needs a signed-in user.",
):
    pass


class UserNotFound(KnownError, code="USER_NOT_FOUND", status=404, message="User not found."):
    pass


class UserIdDoesNotExist(
    KnownError,
    code="USER_ID_DOES_NOT_EXIST",
    status=400,
    message="The user with the given id does not exist.",
):
    user_id: str


class RedirectUrlNotWhitelisted(
    KnownError,
    code="REDIRECT_URL_NOT_WHITELISTED",
    status=400,
    message="The redirect URL is not in the project's trusted domains.",
):
    pass


# --- contact channels -----------------------------------------------------------------------------
class ContactChannelAlreadyUsedForAuthBySomeoneElse(
    KnownError,
    code="CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE",
    status=409,
    message="This contact channel is already used for sign-in by another account.",
):
    type: str
    contact_channel_value: str
    would_work_if_email_was_verified: bool


# --- verification codes ---------------------------------------------------------------------------
class VerificationCodeNotFound(
    KnownError,
    code="VERIFICATION_CODE_NOT_FOUND",
    status=404,
    message="The verification code does not exist for this project.",
):
    pass


class VerificationCodeExpired(
    KnownError,
    code="VERIFICATION_CODE_EXPIRED",
    status=400,
    message="The verification code has expired.",
):
    pass


class VerificationCodeAlreadyUsed(
    KnownError,
    code="VERIFICATION_CODE_ALREADY_USED",
    status=409,
    message="The verification link has already been used.",
):
    pass


class VerificationCodeMaxAttemptsReached(
    KnownError,
    code="VERIFICATION_CODE_MAX_ATTEMPTS_REACHED",
    status=400,
    message="The verification code was entered wrongly too many times. Request a new code.",
):
    pass


# --- email ----------------------------------------------------------------------------------------
class EmailAlreadyVerified(
    KnownError, code="EMAIL_ALREADY_VERIFIED", status=409, message="The email is already verified."
):
    pass


class EmailIsNotPrimaryEmail(
    KnownError,
    code="EMAIL_IS_NOT_PRIMARY_EMAIL",
    status=400,
    message="The given email is not the user's primary email.",
):
    email: str | None
    primary_email: str | None


class RequiresCustomEmailServer(
    KnownError,
    code="REQUIRES_CUSTOM_EMAIL_SERVER",
    status=400,
    message=(
        "This action requires a custom SMTP server. Configure one in the project's email settings."
    ),
):
    pass


# --- multi-factor authentication (sec-mfa) --------------------------------------------------------
class MultiFactorAuthenticationRequired(
    KnownError,
    code="MULTI_FACTOR_AUTHENTICATION_REQUIRED",
    status=400,
    message="Multi-factor authentication is required for this user.",
):
    attempt_code: str


class InvalidTotpCode(
    KnownError,
    code="INVALID_TOTP_CODE",
    status=400,
    message="The TOTP code is invalid. Please try again.",
):
    pass


# --- password requirements ------------------------------------------------------------------------
# Stack Auth has no code for "too common". The SDK turns a code it does not know into a thrown
# "please update your SDK" error, whereas it returns PASSWORD_REQUIREMENTS_NOT_MET (the family's
# own code, in its KnownErrors table; it is rebuilt from ``details.message``) as the result its
# sign-up and password methods already expect. So the refusal is sent under the family's code, and
# ``details.reason`` tells it apart from the family's other members for clients that care.
class PasswordRequirementsNotMet(
    KnownError,
    code="PASSWORD_REQUIREMENTS_NOT_MET",
    status=400,
    message="The password does not meet the project's requirements.",
):
    # The ``message`` detail is the text itself, as in SchemaError.
    def __init__(self, *, message: str, reason: str) -> None:
        super().__init__(message)
        self.details = {"message": message, "reason": reason}


PASSWORD_TOO_COMMON_REASON = "PASSWORD_TOO_COMMON"


class PasswordTooCommon(PasswordRequirementsNotMet):
    """PASSWORD_REQUIREMENTS_NOT_MET for a password found on the common-password list."""

    def __init__(self) -> None:
        super().__init__(
            message="This password is too common. Choose a less predictable one.",
            reason=PASSWORD_TOO_COMMON_REASON,
        )


# --- plain errors (text/plain) --------------------------------------------------------------------
class InvalidPasswordHash(
    PlainError,
    status=400,
    message="Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format.",
):
    """An imported ``password_hash`` of an unsupported format or over-costly parameters."""


class UserAlreadyHasPassword(
    PlainError,
    status=400,
    message="This user already has a password; change it with /auth/password/update.",
):
    pass


class ContactChannelNotFound(PlainError, status=404, message="Contact channel not found."):
    pass


class ContactChannelToChangeNotFound(ContactChannelNotFound, status=400):
    """Updating or deleting a channel that is not there is a 400, as upstream answers it."""


class ContactChannelAlreadyExists(
    PlainError, status=400, message="This user already has a contact channel with this value."
):
    pass


class EmailNoLongerOnAccount(
    PlainError,
    status=400,
    message="The email address this code was sent to is no longer on the account.",
):
    pass


class OtpSignInNotEnabled(
    PlainError, status=403, message="OTP sign-in is not enabled for this project."
):
    pass


class AccountCreatedMeanwhile(
    PlainError, status=409, message="The account for this email was created meanwhile; retry."
):
    """Sign-in by code lost a race with another sign-up of the same address; a retry signs in."""


class EmailTemplateNotFound(PlainError, status=404):
    def __init__(self, template_id: str) -> None:
        super().__init__(f"Email template {template_id!r} not found.")


class SignUpRejected(KnownError):
    """A sign-up rule (or the rules' default action) refused the sign-up. The rule's own message
    is for the project's eyes only, so the answer never carries it (nor which rule matched)."""

    code = "SIGN_UP_REJECTED"
    status = 403
    message = "Your sign-up was rejected by a sign-up rule of this project."

    def __init__(self, *, message: str = message) -> None:
        super().__init__(message)
        self.details = {"message": message}
