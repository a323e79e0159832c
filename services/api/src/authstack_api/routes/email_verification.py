"""Contact-channel verification by emailed code."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import AnyAuth, SchemaUserAuth, resolve_user_id
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import CallbackBody, CodeBody, EmailCallbackBody
from authstack_core.domain import email_verification
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError
from authstack_core.redirects import require_trusted_redirect


@post(
    "/api/v1/contact-channels/{user_id:str}/{contact_channel_id:str}/send-verification-code",
    status_code=200,
    opt={"limit": Limit("verification_send", recipient="contact_channel_id")},
)
async def send_verification_code(
    auth: AnyAuth, deps: Deps, user_id: str, contact_channel_id: str, data: CallbackBody
) -> Response[bytes]:
    target = check_uuid(resolve_user_id(auth, user_id), "user_id")
    channel_id = check_uuid(contact_channel_id, "contact_channel_id")
    if auth.type == "client" and target != auth.user_id:
        raise StatusError(403, "A client can only verify its own contact channels.")
    callback_url = require_trusted_redirect(auth.project.config, data.callback_url)
    await email_verification.send_verification_code(
        deps,
        auth.project,
        user_id=target,
        channel_id=channel_id,
        callback_url=callback_url,
    )
    return json_response(SUCCESS)


@post(
    "/api/v1/contact-channels/send-verification-code",
    status_code=200,
    opt={"limit": Limit("verification_send", recipient="data.email")},
)
async def send_primary_verification_code(
    auth: SchemaUserAuth, deps: Deps, data: EmailCallbackBody
) -> Response[bytes]:
    """Deprecated form: the signed-in user's primary email, named in the body."""
    callback_url = require_trusted_redirect(auth.project.config, data.callback_url)
    await email_verification.send_verification_code(
        deps,
        auth.project,
        user_id=auth.user.user_id,
        channel_id=None,
        email=data.email,
        callback_url=callback_url,
    )
    return json_response(SUCCESS)


_CODE_CHECK = {"limit": Limit("code_check")}


@post("/api/v1/contact-channels/verify", status_code=200, opt=_CODE_CHECK)
async def verify(auth: AnyAuth, deps: Deps, data: CodeBody) -> Response[bytes]:
    await email_verification.verify(deps, auth.project, data.code)
    return json_response(SUCCESS)


@post("/api/v1/contact-channels/verify/check-code", status_code=200, opt=_CODE_CHECK)
async def check_code(auth: AnyAuth, deps: Deps, data: CodeBody) -> Response[bytes]:
    await email_verification.check(deps, auth.project, data.code)
    return json_response({"is_code_valid": True})
