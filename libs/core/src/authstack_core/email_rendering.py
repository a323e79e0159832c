"""Render emails in-process with a sandboxed Jinja2 environment: no remote sandbox, no API key.

Template sources (built-in or a project's own) are trusted only as far as the sandbox allows:
no attribute access to Python internals, no mutation, bounded ``range``, and a work, size and
time budget per email (``email_sandbox``). Variable *values* are never parsed as templates, and
in HTML every value is escaped (autoescape), so a display name such as
``<script>{{ 7*7 }}</script>`` arrives as inert text.

Rendering is CPU work: from async code, call it through ``run_off_loop``, which runs it in a
worker thread, a few at a time, so a heavy template never stalls the loop. A theme (the layout
templates extend, see ``email_themes``) is rendered within the same budget as the email.
"""

from __future__ import annotations

import asyncio
import functools
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import resources
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread
import jinja2
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from authstack_core import email_budget
from authstack_core.email_budget import MAX_VALUE_SIZE, Budget, BudgetExceeded
from authstack_core.email_sandbox import BudgetedSandbox

MAX_TEMPLATE_CHARS = 100_000
MAX_RENDERED_CHARS = MAX_VALUE_SIZE
MAX_SUBJECT_CHARS = 500
_MAX_RANGE = 1000  # Jinja's sandbox allows 100 000; a loop in an email never needs more than this

# Variables every template may use, filled in when the email is sent.
COMMON_VARIABLES = ("projectDisplayName", "userDisplayName", "recipientEmail")


@dataclass(frozen=True, slots=True)
class TemplateSource:
    subject: str
    html: str
    text: str | None  # None: derived from the rendered HTML


@dataclass(frozen=True, slots=True)
class LiteralEmail:
    """HTML and a subject sent as written (send-email's ``html``): never parsed as a template."""

    subject: str
    html: str


@dataclass(frozen=True, slots=True)
class BuiltinTemplate:
    """A default template. ``variables`` are the ones its sender must supply (contract §7.1)."""

    id: str
    display_name: str
    variables: tuple[str, ...]
    source: TemplateSource


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    # Upstream's category name ("Transactional", "Marketing"); None where the content names none.
    notification_category: str | None = None


class TemplateError(Exception):
    """A template that does not compile, breaks the sandbox's rules, or fails to render."""


class ThemeError(TemplateError):
    """The theme itself does not compile or has no ``{% block content %}``."""


# What ``{% extends "layout.html" %}`` renders inside: a theme's source (see email_themes), or
# NO_THEME. No layout: the built-in default theme.
Layout = str | None | Literal[False]
NO_THEME: Literal[False] = False
LAYOUT_NAME = "layout.html"
# With no theme, a template's blocks still render, in a bare document.
BARE_LAYOUT = (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n</head>\n<body>\n'
    "{% block content %}{% endblock %}\n</body>\n</html>\n"
)
# Literal HTML placed in a theme: the value is trusted (the project's own server sent it).
_WRAP_LITERAL = '{% extends "layout.html" %}{% block content %}{{ emailContentHtml }}{% endblock %}'
_ACTIVE_LAYOUT: ContextVar[str | None] = ContextVar("email_layout", default=None)


def _read(name: str) -> str:
    return (resources.files("authstack_core.email_templates") / name).read_text("utf-8")


def _builtin(
    template_id: str, display_name: str, subject: str, variables: tuple[str, ...]
) -> BuiltinTemplate:
    source = TemplateSource(
        subject=subject, html=_read(f"{template_id}.html"), text=_read(f"{template_id}.txt")
    )
    return BuiltinTemplate(template_id, display_name, variables, source)


BUILTIN_TEMPLATES: dict[str, BuiltinTemplate] = {
    t.id: t
    for t in (
        _builtin(
            "email_verification",
            "Email verification",
            "Verify your email at {{ projectDisplayName }}",
            ("emailVerificationLink",),
        ),
        _builtin(
            "password_reset",
            "Password reset",
            "Reset your password at {{ projectDisplayName }}",
            ("passwordResetLink",),
        ),
        _builtin(
            "magic_link",
            "Magic link / OTP",
            "Sign in to {{ projectDisplayName }}: Your code is {{ otp }}",
            ("magicLink", "otp"),
        ),
        _builtin(
            "team_invitation",
            "Team invitation",
            "You have been invited to join {{ teamDisplayName }}",
            ("teamDisplayName", "teamInvitationLink"),  # optional: inviterDisplayName
        ),
        _builtin(
            "sign_in_invitation",
            "Sign-in invitation",
            "You have been invited to sign in to {{ projectDisplayName }}",
            ("signInInvitationLink",),  # optional: teamDisplayName
        ),
    )
}

# Partials a template may {% extends %} or {% include %}: the built-in layout and button.
_PARTIALS = {"layout.html": _read("layout.html"), "button.html": _read("button.html")}


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > _MAX_RANGE:
        raise SecurityError(f"range() is limited to {_MAX_RANGE} items in emails")
    return rng


class _Undefined(jinja2.Undefined):
    """A missing optional variable renders empty; what the sandbox refused raises instead, so a
    template probing for internals is rejected when saved rather than rendering quietly."""

    __slots__ = ()

    def _refuse_if_unsafe(self) -> None:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._refuse_if_unsafe()
        return super().__str__()

    def __bool__(self) -> bool:
        self._refuse_if_unsafe()
        return super().__bool__()

    def __iter__(self) -> Any:
        self._refuse_if_unsafe()
        return super().__iter__()


class _EmailSandbox(BudgetedSandbox):
    """The sandbox, with ``layout.html`` resolved to the theme of the render in progress."""

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        layout = _ACTIVE_LAYOUT.get()
        if name == LAYOUT_NAME and layout is not None:
            try:
                template = _compile(layout, html=True)
            except TemplateError as exc:
                raise ThemeError(f"theme: {exc}") from None
            if "content" not in template.blocks:
                raise ThemeError("theme: it has no {% block content %} for the email's body")
            return template
        return super().get_template(name, parent, globals)


@contextmanager
def _layout(layout: Layout) -> Iterator[None]:
    token = _ACTIVE_LAYOUT.set(BARE_LAYOUT if layout is NO_THEME else layout)
    try:
        yield
    finally:
        _ACTIVE_LAYOUT.reset(token)


def _environment(*, html: bool) -> BudgetedSandbox:
    env = (_EmailSandbox if html else BudgetedSandbox)(
        loader=jinja2.DictLoader(_PARTIALS) if html else None,
        autoescape=html,
        undefined=_Undefined,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.globals["range"] = _bounded_range
    return env


_HTML_ENV = _environment(html=True)
_TEXT_ENV = _environment(html=False)


@functools.lru_cache(maxsize=512)
def _compile(source: str, *, html: bool) -> jinja2.Template:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a template may have at most {MAX_TEMPLATE_CHARS} characters")
    try:
        return (_HTML_ENV if html else _TEXT_ENV).from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    except (RecursionError, SyntaxError):  # Jinja's parser, or Python compiling its output
        raise TemplateError("the template is nested too deeply to compile") from None


def _render(source: str, variables: Mapping[str, Any], *, html: bool) -> str:
    """Render one part, charged to the active budget (``render`` and ``check_template`` set it)."""
    template = _compile(source, html=html)
    try:
        out = template.render(variables)
    except BudgetExceeded as exc:
        raise TemplateError(f"over the rendering budget: {exc}") from None
    except jinja2.TemplateError as exc:  # SecurityError, UndefinedError, TemplateNotFound, ...
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, RecursionError) as exc:
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
    if len(out) > MAX_RENDERED_CHARS:
        raise TemplateError(f"the rendered email exceeds {MAX_RENDERED_CHARS} characters")
    return out


def _one_line(text: str) -> str:
    # A subject is a header: no line breaks (header injection), bounded length.
    return re.sub(r"\s+", " ", text).strip()[:MAX_SUBJECT_CHARS]


def render(
    source: TemplateSource | LiteralEmail, variables: Mapping[str, Any], layout: Layout = None
) -> RenderedEmail:
    """Render subject, HTML and text within one budget, the HTML inside ``layout`` (a theme's
    source; None: the default theme; NO_THEME: none). A template takes the theme by extending
    ``layout.html``; literal HTML is put in the theme's content block, or sent as is with no
    theme. Raise TemplateError with a message safe to record (over budget: the message names
    the limit; ThemeError when the theme is at fault). Blocks: see run_off_loop."""
    with email_budget.activate(Budget()), _layout(layout):
        if isinstance(source, LiteralEmail):
            html = source.html
            if layout is not NO_THEME:
                wrapped = {**variables, "emailContentHtml": Markup(source.html)}  # noqa: S704
                html = _render(_WRAP_LITERAL, wrapped, html=True)
            return RenderedEmail(_one_line(source.subject), html, html_to_text(html))
        html = _render(source.html, variables, html=True)
        text = (
            _render(source.text, variables, html=False)
            if source.text is not None
            else html_to_text(html)
        )
        subject = _render(source.subject, variables, html=False)
    return RenderedEmail(_one_line(subject), html, text)


def sample_variables(template_id: str | None) -> dict[str, Any]:
    """Plausible values for checking a template before it is saved."""
    out: dict[str, Any] = {
        "projectDisplayName": "Example project",
        "userDisplayName": "Ada Lovelace",
        "recipientEmail": "ada@example.com",
    }
    builtin = BUILTIN_TEMPLATES.get(template_id or "")
    for name in builtin.variables if builtin else ():
        out[name] = "123456" if name == "otp" else "https://example.com/handler?code=sample"
    if template_id == "team_invitation":
        out["inviterDisplayName"] = "Grace Hopper"
    return out


def check_template(source: TemplateSource, template_id: str | None = None) -> None:
    """Compile and trial-render a template within one email's budget; raise TemplateError
    naming the part that failed. Blocks: see run_off_loop."""
    with email_budget.activate(Budget()):
        for part, text, html in (
            ("subject", source.subject, False),
            ("html", source.html, True),
            ("text", source.text, False),
        ):
            if text is None:
                continue
            try:
                _render(text, sample_variables(template_id), html=html)
            except TemplateError as exc:
                raise TemplateError(f"{part}: {exc}") from None


_THEME_SAMPLE = TemplateSource(
    subject="{{ projectDisplayName }}",
    html='{% extends "layout.html" %}{% block content %}<p>{{ themeSampleMarker }}</p>'
    "{% endblock %}",
    text=None,
)
_MARKER = "authstack-theme-sample-content"


def check_theme(layout: str, preview_html: str | None = None) -> str:
    """Trial-render a theme around a sample body (or ``preview_html``, placed as is) within one
    email's budget and return the HTML; raise TemplateError when the theme does not compile,
    fails, goes over the budget or never shows the body. Blocks: run it with run_off_loop."""
    variables = {
        **sample_variables(None),
        "unsubscribeLink": "https://example.com/unsubscribe?code=sample",
        "themeSampleMarker": _MARKER,
    }
    rendered = render(_THEME_SAMPLE, variables, layout)
    if _MARKER not in rendered.html:
        raise ThemeError("theme: the email's body ({% block content %}) never shows")
    if preview_html is None:
        return rendered.html
    return render(LiteralEmail("", preview_html), variables, layout).html


_T = TypeVar("_T")

# One small thread pool share per event loop: a burst of heavy templates waits its turn rather
# than taking every worker thread (which password hashing and DNS also use).
RENDER_CONCURRENCY = 2
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def run_off_loop(func: Callable[..., _T], *args: Any) -> _T:
    """Run ``func(*args)`` (a rendering) in a worker thread, at most RENDER_CONCURRENCY at once
    per event loop. The budget bounds each call, so the thread always finishes."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(RENDER_CONCURRENCY)
    return await anyio.to_thread.run_sync(func, *args, limiter=limiter)


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "li", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self._links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip = max(0, self._skip - 1)
        if tag == "a" and self._links:
            href = self._links.pop()
            if href and not "".join(self.parts).rstrip().endswith(href):
                self.parts.append(f" ({href})")
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A readable plain-text alternative of an HTML email (links kept in parentheses)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")
    ]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
