"""Sign-in (password, then TOTP for an admin who has it) and sign-out, through the API's
sign-in routes on the internal project."""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authstack_dashboard.client import ApiError, Tokens
from authstack_dashboard.session import (
    CSRF_COOKIE,
    FLASH_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    Session,
    safe_next,
)
from authstack_dashboard.web import (
    Ctx,
    Dashboard,
    PageError,
    csrf_refused,
    error_page,
    friendly_message,
    page,
    read_form,
    render,
)


async def home(request: Request) -> Response:
    dash: Dashboard = request.app.state.dash
    signed_in = dash.cookies.load_session(request.cookies.get(SESSION_COOKIE)) is not None
    return RedirectResponse("/projects" if signed_in else "/sign-in", status_code=303)


def _sign_in_page(
    request: Request, *, status: int = 200, error: str | None = None, email: str = ""
) -> Response:
    dash: Dashboard = request.app.state.dash
    csrf_secret = request.cookies.get(CSRF_COOKIE)
    fresh = not dash.cookies.valid_csrf_secret(csrf_secret)
    if fresh:
        csrf_secret = dash.cookies.new_csrf_secret()
    assert csrf_secret is not None
    response = render(
        dash,
        "sign_in.html",
        status=status,
        csrf_token=dash.cookies.csrf_token(csrf_secret),
        next=safe_next(request.query_params.get("next")),
        error=error,
        form_email=email,
        email=None,
    )
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_secret,
            httponly=True,
            samesite="lax",
            secure=dash.cookies.secure,
            path="/",
        )
    return response


async def _checked_form(request: Request) -> dict[str, str] | Response:
    """The POSTed form once its CSRF token passed; otherwise the refusal to send."""
    dash: Dashboard = request.app.state.dash
    try:
        form = await read_form(request)
    except PageError as exc:
        return error_page(dash, exc.status, exc.message)
    if not dash.cookies.check_csrf(request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        return csrf_refused(dash)
    return {key: form.get(key) for key in ("email", "password", "next", "attempt_code", "totp")}


async def sign_in(request: Request) -> Response:
    dash: Dashboard = request.app.state.dash
    if request.method == "GET":
        return _sign_in_page(request)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    email, password = form["email"].strip(), form["password"]
    if not email or not password:
        return _sign_in_page(
            request, status=400, error="Enter your email and password.", email=email
        )
    try:
        tokens = await dash.api.sign_in(email, password)
    except ApiError as exc:
        if exc.code == "MULTI_FACTOR_AUTHENTICATION_REQUIRED" and isinstance(exc.details, dict):
            return _mfa_page(request, str(exc.details.get("attempt_code", "")), form["next"])
        status = 400 if exc.status < 500 else 502
        return _sign_in_page(request, status=status, error=friendly_message(exc), email=email)
    return _signed_in(dash, tokens, form["next"])


def _mfa_page(
    request: Request, attempt_code: str, next_path: str, *, status: int = 200, error: str = ""
) -> Response:
    """The second step for an admin with TOTP: the attempt code rides in the form (it is worth
    nothing without a current TOTP, dies after 5 wrong ones and after 5 minutes)."""
    dash: Dashboard = request.app.state.dash
    return render(
        dash,
        "sign_in_mfa.html",
        status=status,
        csrf_token=dash.cookies.csrf_token(request.cookies.get(CSRF_COOKIE) or ""),
        next=safe_next(next_path),
        attempt_code=attempt_code,
        error=error or None,
        email=None,
    )


async def sign_in_mfa(request: Request) -> Response:
    dash: Dashboard = request.app.state.dash
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    code, totp = form["attempt_code"], form["totp"].strip().replace(" ", "")
    try:
        tokens = await dash.api.mfa_sign_in(code, totp)
    except ApiError as exc:
        if exc.code in {"INVALID_TOTP_CODE", "SCHEMA_ERROR"}:
            error = "That code is not valid. Enter the current code from your authenticator app."
            return _mfa_page(request, code, form["next"], status=400, error=error)
        # A dead attempt code (used, expired, too many wrong codes): start again.
        error = "The sign-in expired or had too many wrong codes. Sign in again."
        status = 400 if exc.status < 500 else 502
        return _sign_in_page(request, status=status, error=error)
    return _signed_in(dash, tokens, form["next"])


def _signed_in(dash: Dashboard, tokens: Tokens, next_path: str) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    session = Session(refresh_token=tokens.refresh_token, access_token=tokens.access_token)
    response.set_cookie(
        SESSION_COOKIE,
        dash.cookies.dump_session(session),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=dash.cookies.secure,
        path="/",
    )
    # A new CSRF secret with the new session: a token seen before sign-in is worth nothing after.
    response.set_cookie(
        CSRF_COOKIE,
        dash.cookies.new_csrf_secret(),
        httponly=True,
        samesite="lax",
        secure=dash.cookies.secure,
        path="/",
    )
    return response


@page
async def sign_out(ctx: Ctx) -> Response:
    # The session may already be gone; the cookie is cleared either way.
    with contextlib.suppress(ApiError):
        await ctx.dash.api.sign_out(ctx.session.access_token)
    ctx.session_changed = False  # a refresh during this request must not re-set the cookie
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(FLASH_COOKIE, path="/")
    return response


routes = [
    Route("/", home),
    Route("/sign-in", sign_in, methods=["GET", "POST"]),
    Route("/sign-in/mfa", sign_in_mfa, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]
