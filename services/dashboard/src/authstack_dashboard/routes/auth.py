"""Sign-in and sign-out through the API's password sign-in on the internal project."""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authstack_dashboard.client import ApiError
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


async def sign_in(request: Request) -> Response:
    dash: Dashboard = request.app.state.dash
    if request.method == "GET":
        return _sign_in_page(request)
    try:
        form = await read_form(request)
    except PageError as exc:
        return error_page(dash, exc.status, exc.message)
    if not dash.cookies.check_csrf(request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        return csrf_refused(dash)
    email, password = form.get("email").strip(), form.get("password")
    if not email or not password:
        return _sign_in_page(
            request, status=400, error="Enter your email and password.", email=email
        )
    try:
        tokens = await dash.api.sign_in(email, password)
    except ApiError as exc:
        status = 400 if exc.status < 500 else 502
        return _sign_in_page(request, status=status, error=friendly_message(exc), email=email)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
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
    Route("/sign-out", sign_out, methods=["POST"]),
]
