"""What every page shares: the signed-in context, CSRF on forms, rendering, errors, redirects."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from authstack_core.settings import DashboardSettings
from authstack_dashboard.client import (
    EXPIRED_CODES,
    SIGNED_OUT_CODES,
    ApiClient,
    ApiError,
    is_expiring,
    token_claims,
)
from authstack_dashboard.images import image_source, stored_image_filter
from authstack_dashboard.session import (
    CSRF_COOKIE,
    FLASH_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    Cookies,
    Flash,
    FlashKind,
    Session,
    safe_next,
)

log = structlog.get_logger("authstack_dashboard")

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 256 * 1024
_PROJECT_ID = re.compile(
    r"^(internal|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
# An id people choose for a config entry (an OAuth provider, an external database).
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# API errors that mean "this project is not yours or not there": shown as a plain 404.
NO_ACCESS_CODES = frozenset({"ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN", "CURRENT_PROJECT_NOT_FOUND"})


class PageError(Exception):
    """Stop handling a request and show an error page with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FormError(Exception):
    """Bad form input: go back to ``to`` and show the message there."""

    def __init__(self, message: str, to: str) -> None:
        super().__init__(message)
        self.message = message
        self.to = to


@dataclass
class Dashboard:
    """Process-wide state: settings, the API client, cookies and templates."""

    settings: DashboardSettings
    api: ApiClient
    cookies: Cookies
    env: Environment

    @classmethod
    def build(cls, settings: DashboardSettings, api: ApiClient) -> Dashboard:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["millis"] = _format_millis
        env.filters["ago"] = _format_ago
        env.filters["json_pretty"] = _json_pretty
        env.filters["stored_image"] = stored_image_filter(image_source(settings))
        cookies = Cookies(settings.session_secret, secure=settings.secure_cookies)
        return cls(settings, api, cookies, env)


class Form:
    """An urlencoded form body."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self.values = values

    def get(self, name: str, default: str = "") -> str:
        items = self.values.get(name)
        return items[-1] if items else default

    def has(self, name: str) -> bool:
        return name in self.values

    def flag(self, name: str) -> bool:
        """A checkbox: present (any value but "false") means on."""
        return self.has(name) and self.get(name) != "false"


async def read_form(request: Request) -> Form:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PageError(415, "Forms must be sent as application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, "This form is too large.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PageError(400, "This form is not valid UTF-8.") from None
    return Form(parse_qs(text, keep_blank_values=True, max_num_fields=500))


@dataclass
class Ctx:
    """One request of a signed-in admin."""

    request: Request
    dash: Dashboard
    session: Session
    csrf_secret: str
    form: Form = field(default_factory=lambda: Form({}))
    session_changed: bool = False
    flash: Flash | None = None
    new_flash: Flash | None = None

    @property
    def csrf_token(self) -> str:
        return self.dash.cookies.csrf_token(self.csrf_secret)

    @property
    def email(self) -> str | None:
        value = token_claims(self.session.access_token).get("email")
        return value if isinstance(value, str) else None

    async def refresh(self) -> None:
        access = await self.dash.api.refresh(self.session.refresh_token)
        self.session = Session(self.session.refresh_token, access)
        self.session_changed = True

    async def _retrying(self, call: Callable[[str], Awaitable[Any]]) -> Any:
        try:
            return await call(self.session.access_token)
        except ApiError as exc:
            if exc.code not in EXPIRED_CODES:
                raise
        await self.refresh()
        return await call(self.session.access_token)

    async def admin(
        self,
        method: str,
        path: str,
        project_id: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """An admin request on ``project_id`` with the signed-in admin's access token."""
        return await self._retrying(
            lambda token: self.dash.api.admin(
                method, path, project_id, token, json_body=json_body, params=params
            )
        )

    async def internal(self, method: str, path: str, *, json_body: Any = None) -> Any:
        return await self._retrying(
            lambda token: self.dash.api.internal(method, path, token, json_body=json_body)
        )

    @property
    def project_id(self) -> str:
        """The project named in the path; a 404 page when the path names none."""
        return project_id_of(self.request)

    def item_path(self, collection: str, what: str) -> tuple[str, str, str]:
        """The project id, the id of the ``what`` in the path (``{what}_id``) and its page."""
        project_id = self.project_id
        item_id = uuid_param(self.request, f"{what}_id", what)
        return project_id, item_id, f"/projects/{project_id}/{collection}/{item_id}"

    @property
    def back(self) -> str:
        """The page a form was sent from (its hidden ``back`` field), for redirects after it."""
        return safe_next(self.form.get("back"), default="/projects")

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(
            self.dash,
            template,
            status=status,
            csrf_token=self.csrf_token,
            email=self.email,
            flash=self.flash,
            path=self.request.url.path,
            here=self.back if self.request.method == "POST" else _here(self.request),
            **context,
        )

    def redirect(self, to: str, message: str | None = None, kind: FlashKind = "ok") -> Response:
        if message:
            self.new_flash = Flash(kind, message)
        return RedirectResponse(to, status_code=303)


def render(dash: Dashboard, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = dash.env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def _here(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def _format_millis(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _format_ago(value: Any, now: float | None = None) -> str:
    """A past time in millis as people say it: "just now", "5 min ago", "3 h ago", then the date."""
    if not isinstance(value, int | float):
        return "—"
    seconds = (time.time() if now is None else now) - value / 1000
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    return _format_millis(value)


def _json_pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def project_id_of(request: Request) -> str:
    value = str(request.path_params.get("project_id", ""))
    if not _PROJECT_ID.match(value):
        raise PageError(404, "There is no such project.")
    return value


def uuid_param(request: Request, name: str, what: str) -> str:
    value = str(request.path_params.get(name, "")).lower()
    if not _UUID.match(value):
        raise PageError(404, f"There is no such {what}.")
    return value


def slug_param(request: Request, name: str, what: str) -> str:
    value = str(request.path_params.get(name, ""))
    if not SLUG.match(value):
        raise PageError(404, f"There is no such {what}.")
    return value


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query and request.method == "GET":
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/projects"
    return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)


def error_page(dash: Dashboard, status: int, message: str, **context: Any) -> HTMLResponse:
    return render(dash, "error.html", status=status, message=message, **context)


def csrf_refused(dash: Dashboard) -> HTMLResponse:
    return error_page(
        dash,
        403,
        "This form was refused: its security token is missing or out of date. "
        "Go back, reload the page and send it again.",
    )


Handler = Callable[[Ctx], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(handler: Handler) -> Endpoint:
    """Wrap a handler for signed-in admins: session, refresh, CSRF on POST, API errors."""

    async def endpoint(request: Request) -> Response:
        dash: Dashboard = request.app.state.dash
        cookies = dash.cookies
        csrf_secret = request.cookies.get(CSRF_COOKIE)
        new_csrf = not cookies.valid_csrf_secret(csrf_secret)
        if new_csrf:
            csrf_secret = cookies.new_csrf_secret()
        assert csrf_secret is not None
        session = cookies.load_session(request.cookies.get(SESSION_COOKIE))
        form = Form({})
        if request.method == "POST":
            try:
                form = await read_form(request)
            except PageError as exc:
                return error_page(dash, exc.status, exc.message)
            if new_csrf or not cookies.check_csrf(csrf_secret, form.get("csrf_token")):
                return csrf_refused(dash)
        if session is None:
            return sign_in_redirect(request)
        ctx = Ctx(request, dash, session, csrf_secret, form)
        ctx.flash = cookies.load_flash(request.cookies.get(FLASH_COOKIE))
        try:
            if is_expiring(session.access_token):
                await ctx.refresh()
            response = await handler(ctx)
        except ApiError as exc:
            if exc.code in SIGNED_OUT_CODES or (exc.status == 401 and exc.code is None):
                response = sign_in_redirect(request)
                response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            response = _api_error_response(ctx, exc)
        except FormError as exc:
            response = ctx.redirect(exc.to, exc.message, "error")
        except PageError as exc:
            response = error_page(
                dash, exc.status, exc.message, email=ctx.email, csrf_token=ctx.csrf_token
            )
        _finish(ctx, response, new_csrf=new_csrf)
        return response

    endpoint.__name__ = handler.__name__
    return endpoint


def form_routes(path: str, forms: dict[str, Endpoint]) -> list[Route]:
    """``POST path + suffix`` receives each of ``forms``."""
    return [Route(path + suffix, form, methods=["POST"]) for suffix, form in forms.items()]


def page_routes(path: str, show: Endpoint, forms: dict[str, Endpoint]) -> list[Route]:
    """``GET path`` shows a page; ``POST path + suffix`` receives each of its ``forms``."""
    return [Route(path, show, methods=["GET"]), *form_routes(path, forms)]


def _api_error_response(ctx: Ctx, exc: ApiError) -> Response:
    if exc.code in NO_ACCESS_CODES:
        return error_page(
            ctx.dash,
            404,
            "This project does not exist, or your account is not a member of the team that "
            "owns it.",
            email=ctx.email,
            csrf_token=ctx.csrf_token,
        )
    if ctx.request.method == "POST" and exc.status < 500:
        # Back to the page the form was on, with the API's own explanation.
        return ctx.redirect(ctx.back, friendly_message(exc), "error")
    status = exc.status if 400 <= exc.status < 500 else 502
    return error_page(
        ctx.dash, status, friendly_message(exc), email=ctx.email, csrf_token=ctx.csrf_token
    )


FRIENDLY = {
    "EMAIL_PASSWORD_MISMATCH": "Wrong email or password.",
    "USER_EMAIL_ALREADY_EXISTS": "Another user already signs in with this email address.",
    "TEAM_MEMBERSHIP_NOT_FOUND": "You are not a member of the team you chose to own the project.",
    "PASSWORD_AUTHENTICATION_NOT_ENABLED": "Password sign-in is not enabled for the dashboard.",
    "API_UNREACHABLE": "The API could not be reached. Check that it is running.",
}


def friendly_message(exc: ApiError) -> str:
    if exc.code in FRIENDLY:
        return FRIENDLY[exc.code]
    if exc.code == "SCHEMA_ERROR":
        # "Request validation failed on PATCH /x:\n  - detail" -> the details only.
        lines = [ln.strip(" -") for ln in exc.message.splitlines()[1:] if ln.strip()]
        return "The API refused the input: " + ("; ".join(lines) or exc.message)
    return exc.message


def _finish(ctx: Ctx, response: Response, *, new_csrf: bool) -> None:
    cookies = ctx.dash.cookies
    secure = cookies.secure
    if new_csrf:
        response.set_cookie(
            CSRF_COOKIE, ctx.csrf_secret, httponly=True, samesite="lax", secure=secure, path="/"
        )
    if ctx.session_changed:
        response.set_cookie(
            SESSION_COOKIE,
            cookies.dump_session(ctx.session),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
    if ctx.new_flash is not None:
        response.set_cookie(
            FLASH_COOKIE,
            cookies.dump_flash(ctx.new_flash),
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
    elif ctx.flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")


async def gather(*calls: Awaitable[Any]) -> list[Any]:
    """Run independent API calls at once (a page's latency is its slowest call, not their sum)."""
    return list(await asyncio.gather(*calls))


def request_id() -> str:
    return uuid.uuid4().hex
