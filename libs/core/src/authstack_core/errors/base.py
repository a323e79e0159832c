"""The two kinds of error the API sends: known errors (JSON, by code) and plain ones (text)."""

from __future__ import annotations

from typing import ClassVar


class KnownError(Exception):
    """An error the SDK recognises by its code; sent as JSON under ``X-Stack-Known-Error``.

    A subclass fixes ``code``, ``status`` and ``message``. One whose code carries details takes
    them as keyword-only arguments and keeps them in ``details`` under their wire names: the SDK
    rebuilds errors from ``details``, so the names (even upstream's odd ``maxLength``) are part of
    the contract, and typed arguments let mypy catch a misspelt or missing one at the raise site.
    """

    code: ClassVar[str]
    status: ClassVar[int]
    message: ClassVar[str]
    details: dict[str, object] | None = None

    def __init__(self, text: str | None = None, /) -> None:
        self.text = text or self.message
        super().__init__(self.text)

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code}
        if self.details is not None:
            out["details"] = self.details
        out["error"] = self.text
        return out


class PlainError(Exception):
    """An error without a known code; sent as text/plain with its message.

    A subclass fixes ``status`` and ``message``, or builds the text in its ``__init__`` when the
    text names a value.
    """

    status: int
    message: str

    def __init__(self, text: str | None = None) -> None:
        self.text = text or self.message
        super().__init__(self.text)


class StatusError(PlainError):
    """A plain error whose status is chosen where it is raised.

    For the API's own request checks; the domain raises ``PlainError`` subclasses instead, so that
    the status belongs to the error rather than to each raise site.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
