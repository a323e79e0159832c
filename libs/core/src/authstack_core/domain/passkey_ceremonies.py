"""The WebAuthn side of passkeys, through py_webauthn: options for the browser, checks of what the
browser answers. No I/O here; ``domain.passkeys`` stores and signs in.

The options name the sentinel RP ID upstream uses, which the SDK asserts and replaces with the
page's hostname (there is no single RP ID: a project may be served from several trusted domains).
So the RP ID and origin a response must carry are decided from the response itself: its
clientDataJSON origin must be a page the project trusts (``redirects.trusted_origin``), and the
RP ID is that origin's host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import structlog
import webauthn
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authstack_core.errors import PasskeyAuthenticationFailed, PasskeyRegistrationFailed
from authstack_core.models.config import ProjectConfig
from authstack_core.redirects import trusted_origin

log = structlog.get_logger(__name__)

SENTINEL_RP_ID = "THIS_VALUE_WILL_BE_REPLACED.example.com"
CEREMONY_TIMEOUT_MS = 60_000
Failure = type[PasskeyRegistrationFailed] | type[PasskeyAuthenticationFailed]


@dataclass(frozen=True, slots=True)
class Options:
    """``options_json`` for @simplewebauthn/browser, and its challenge (base64url) to keep."""

    json: dict[str, Any]
    challenge: str


def registration_options(*, rp_name: str, user_id: str, user_name: str) -> Options:
    """Creation options for a discoverable credential; ``user.id`` is the user id's UTF-8 bytes
    (as upstream), so a browser keeps one passkey per user and site."""
    options = webauthn.generate_registration_options(
        rp_id=SENTINEL_RP_ID,
        rp_name=rp_name,
        user_id=user_id.encode(),
        user_name=user_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        timeout=CEREMONY_TIMEOUT_MS,
    )
    return Options(
        json.loads(webauthn.options_to_json(options)), bytes_to_base64url(options.challenge)
    )


def authentication_options() -> Options:
    """Request options with no allowed credentials: the browser offers the site's passkeys."""
    options = webauthn.generate_authentication_options(
        rp_id=SENTINEL_RP_ID,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.PREFERRED,
        timeout=CEREMONY_TIMEOUT_MS,
    )
    return Options(
        json.loads(webauthn.options_to_json(options)), bytes_to_base64url(options.challenge)
    )


@dataclass(frozen=True, slots=True)
class Expected:
    """What a response must carry: the challenge issued, and the origin and RP ID it claims once
    the origin has been found trusted."""

    challenge: bytes
    origin: str
    rp_id: str


def _library_call(failure: Failure, text: str, call: Any, /, **kwargs: Any) -> Any:
    """Run a py_webauthn parse or check on client bytes; whatever it raises becomes ``failure``.

    Everything reaching it came from the client (base64, JSON, CBOR, COSE, signatures,
    certificates), and the library lets more than its own exceptions escape on malformed input
    (binascii, JSON recursion, CBOR and cryptography errors), none of which may become a 500.
    """
    try:
        return call(**kwargs)
    except Exception as exc:  # the boundary around untrusted binary input; see above
        log.info("passkey_response_refused", reason=str(exc)[:200], kind=type(exc).__name__)
        raise failure(message=text) from exc


def _expected(
    config: ProjectConfig, failure: Failure, client_data_json: bytes, challenge: str
) -> Expected:
    client_data = _library_call(
        failure, "The passkey response's client data is malformed.", parse_client_data_json,
        val=client_data_json,
    )  # fmt: skip
    origin = client_data.origin
    trusted = trusted_origin(config, origin) if isinstance(origin, str) else None
    if trusted is None:
        raise failure(
            message="The passkey response comes from an origin this project does not trust."
        )
    return Expected(base64url_to_bytes(challenge), origin, trusted.host)


@dataclass(frozen=True, slots=True)
class NewPasskey:
    credential_id: str  # unpadded base64url of the raw id
    public_key: bytes
    counter: int
    transports: list[str]


def verify_registration(
    config: ProjectConfig, credential: dict[str, Any], challenge: str
) -> NewPasskey:
    """The passkey a registration response creates; PASSKEY_REGISTRATION_FAILED if it is
    malformed, from an untrusted origin, for another challenge or RP ID, or does not verify."""
    failure = PasskeyRegistrationFailed
    parsed: RegistrationCredential = _library_call(
        failure, "The passkey registration response is malformed.",
        parse_registration_credential_json, json_val=credential,
    )  # fmt: skip
    expected = _expected(config, failure, parsed.response.client_data_json, challenge)
    verified = _library_call(
        failure,
        "The passkey registration response could not be verified.",
        webauthn.verify_registration_response,
        credential=parsed,
        expected_challenge=expected.challenge,
        expected_rp_id=expected.rp_id,
        expected_origin=expected.origin,
        # As upstream: user verification is preferred, not required.
        require_user_verification=False,
    )
    return NewPasskey(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        counter=verified.sign_count,
        transports=[t.value for t in parsed.response.transports or ()],
    )


@dataclass(frozen=True, slots=True)
class Assertion:
    """An authentication response, parsed and its origin found trusted; not yet verified."""

    credential_id: str
    user_handle: bytes | None
    parsed: AuthenticationCredential
    expected: Expected


def read_assertion(config: ProjectConfig, response: dict[str, Any], challenge: str) -> Assertion:
    """Parse an authentication response and check its origin (PASSKEY_AUTHENTICATION_FAILED)."""
    failure = PasskeyAuthenticationFailed
    parsed: AuthenticationCredential = _library_call(
        failure, "The passkey authentication response is malformed.",
        parse_authentication_credential_json, json_val=response,
    )  # fmt: skip
    credential_id = bytes_to_base64url(parsed.raw_id)
    if credential_id != parsed.id:  # the id names the credential looked up: one spelling only
        raise failure(message="The passkey authentication response is malformed.")
    expected = _expected(config, failure, parsed.response.client_data_json, challenge)
    return Assertion(credential_id, parsed.response.user_handle, parsed, expected)


def verify_assertion(assertion: Assertion, *, public_key: bytes, counter: int) -> int:
    """The new signature counter of an assertion made with ``public_key``; raise
    PASSKEY_AUTHENTICATION_FAILED for a wrong challenge, RP ID or signature, or a counter that did
    not grow past ``counter`` (unless both are 0)."""
    verified = _library_call(
        PasskeyAuthenticationFailed,
        "The passkey could not be verified.",
        webauthn.verify_authentication_response,
        credential=assertion.parsed,
        expected_challenge=assertion.expected.challenge,
        expected_rp_id=assertion.expected.rp_id,
        expected_origin=assertion.expected.origin,
        credential_public_key=public_key,
        credential_current_sign_count=counter,
        require_user_verification=False,
    )
    new_counter: int = verified.new_sign_count
    return new_counter
