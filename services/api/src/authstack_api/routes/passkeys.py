"""Passkeys (WebAuthn): register one for the signed-in user, and sign in with it.

The SDK (registerPasskey / signInWithPasskey) calls initiate-*, hands ``options_json`` to
@simplewebauthn/browser after putting the page's hostname in place of the sentinel RP ID, and
posts the browser's answer back with the code.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Response, post
from msgspec import Meta

from authstack_api.auth import AnyAuth, HttpRequest, SchemaUserAuth, UserAuth
from authstack_api.limits import Limit, limit
from authstack_api.responses import json_response
from authstack_api.schemas import Strict, VerificationCode
from authstack_core.domain import passkeys
from authstack_core.domain.context import Deps

# The browser's answers, as @simplewebauthn/browser serialises them (base64url strings). Fields
# the server does not read (clientExtensionResults, response.publicKey, ...) are let through and
# dropped; the lengths bound what the WebAuthn parser is ever given. A credential id has at most
# 1023 bytes; attestation certificate chains stay well under 64 KiB.
CredentialId = Annotated[str, Meta(min_length=1, max_length=1400)]
ClientDataJson = Annotated[str, Meta(max_length=8192)]
Transport = Annotated[str, Meta(max_length=32)]


class AttestationResponse(msgspec.Struct):
    client_data_json: ClientDataJson = msgspec.field(name="clientDataJSON")
    attestation_object: Annotated[str, Meta(max_length=65536)] = msgspec.field(
        name="attestationObject"
    )
    transports: Annotated[list[Transport], Meta(max_length=16)] | None = None


class _Credential(msgspec.Struct, rename="camel", kw_only=True):
    id: CredentialId
    raw_id: CredentialId
    type: Literal["public-key"]
    authenticator_attachment: str | None = None


class RegistrationCredential(_Credential, kw_only=True):
    response: AttestationResponse


class AssertionResponse(msgspec.Struct):
    client_data_json: ClientDataJson = msgspec.field(name="clientDataJSON")
    authenticator_data: Annotated[str, Meta(max_length=8192)] = msgspec.field(
        name="authenticatorData"
    )
    signature: Annotated[str, Meta(max_length=2048)]
    user_handle: Annotated[str, Meta(max_length=256)] | None = msgspec.field(
        default=None, name="userHandle"
    )


class AuthenticationCredential(_Credential, kw_only=True):
    response: AssertionResponse


class RegisterBody(Strict):
    credential: RegistrationCredential
    code: VerificationCode


class SignInBody(Strict):
    authentication_response: AuthenticationCredential
    code: VerificationCode


@post("/api/v1/auth/passkey/initiate-passkey-registration", status_code=200)
async def initiate_registration(
    auth: SchemaUserAuth, deps: Deps, request: HttpRequest
) -> Response[bytes]:
    """Creation options (rp.id is the sentinel the SDK replaces) and the code keeping their
    challenge for 65 s."""
    await limit(request, "passkey_registration", account=auth.user.user_id)
    return json_response(
        await passkeys.initiate_registration(deps, auth.project, auth.user.user_id)
    )


@post("/api/v1/auth/passkey/register", status_code=200)
async def register(
    auth: UserAuth, deps: Deps, request: HttpRequest, data: RegisterBody
) -> Response[bytes]:
    """Store the signed-in user's passkey (replacing one it had)."""
    await limit(request, "passkey_registration", account=auth.user.user_id)
    user_handle = await passkeys.register(
        deps,
        auth.project,
        auth.user.user_id,
        credential=msgspec.to_builtins(data.credential),
        code=data.code,
    )
    return json_response({"user_handle": user_handle})


_SIGN_IN = {"limit": Limit("passkey_sign_in")}


@post("/api/v1/auth/passkey/initiate-passkey-authentication", status_code=200, opt=_SIGN_IN)
async def initiate_authentication(auth: AnyAuth, deps: Deps) -> Response[bytes]:
    """Request options (rpId is the sentinel the SDK replaces) and the code keeping their
    challenge for 65 s."""
    return json_response(await passkeys.initiate_authentication(deps, auth.project))


@post("/api/v1/auth/passkey/sign-in", status_code=200, opt=_SIGN_IN)
async def sign_in(auth: AnyAuth, deps: Deps, data: SignInBody) -> Response[bytes]:
    """Tokens for the user whose passkey signed the challenge (or MFA-required for TOTP)."""
    result = await passkeys.sign_in(
        deps,
        auth.project,
        authentication_response=msgspec.to_builtins(data.authentication_response),
        code=data.code,
    )
    return json_response(result.json())
