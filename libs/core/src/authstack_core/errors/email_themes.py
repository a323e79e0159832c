"""Errors of email themes, drafts and previews (the rendering entry point's)."""

# Class names follow the other error modules (upstream's style), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


class EmailRenderingError(KnownError):
    """A template, draft or theme that does not compile, breaks the sandbox, fails or goes over
    the rendering budget; ``error`` says which part and why (upstream's wording around it)."""

    code = "EMAIL_RENDERING_ERROR"
    status = 400
    message = "Failed to render the email."

    def __init__(self, *, error: str) -> None:
        super().__init__(f"Failed to render email with theme: {error}")
        self.error = error
        self.details = {"error": error}


class EmailThemeNotFound(PlainError, status=404, message="No theme found with given id"):
    """``/internal/email-themes/{id}`` names no theme of the project (upstream's text)."""


class UnknownEmailTheme(PlainError, status=400, message="No theme found with given id"):
    """A ``theme_id`` in a body names no theme of the project (upstream's render-email text)."""


class EmailDraftNotFound(PlainError, status=404, message="No draft found with given id"):
    pass


class EmailThemeLimitReached(PlainError, status=400):
    def __init__(self, limit: int) -> None:
        super().__init__(f"A project may have at most {limit} email themes of its own.")


class EmailDraftLimitReached(PlainError, status=400):
    def __init__(self, limit: int) -> None:
        super().__init__(f"A project may have at most {limit} email drafts.")
