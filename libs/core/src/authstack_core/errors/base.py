"""The two kinds of error the API sends: known errors (JSON, by code) and plain ones (text)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, dataclass_transform


@dataclass_transform(kw_only_default=True)
class KnownError(Exception):
    """An error the SDK recognises by its code; sent as JSON under ``X-Stack-Known-Error``.

    A subclass names its ``code``, ``status`` and ``message`` (the text sent when none is given)
    as class keywords, and declares its details, if its code carries any, as fields::

        class TeamNotFound(KnownError, code="TEAM_NOT_FOUND", status=404, message="..."):
            team_id: str

    The fields become keyword-only arguments, so mypy checks them at the raise site, and
    ``details`` holds them under their names, in declaration order (inherited ones first). The SDK
    rebuilds errors from ``details``, so the names (even upstream's odd ``maxLength``) are part of
    the contract. An error without fields has no ``details`` and takes an optional text to send
    instead of its ``message``. One that needs more (a text taken from a detail) writes its own
    ``__init__`` and sets ``details`` itself.
    """

    code: ClassVar[str]
    status: ClassVar[int]
    message: ClassVar[str]
    _detail_names: ClassVar[tuple[str, ...]] = ()
    details: dict[str, object] | None = None

    def __init_subclass__(
        cls,
        *,
        code: str | None = None,
        status: int | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        _set_given(cls, code=code, status=status, message=message)
        own = inspect.get_annotations(cls).items()
        fields = [name for name, hint in own if "ClassVar" not in str(hint)]  # as mypy sees them
        cls._detail_names = (*cls._detail_names, *fields)
        if cls._detail_names and "__init__" not in cls.__dict__:
            cls.__init__ = _details_init(cls)  # type: ignore[method-assign]

    def __init__(self, text: str | None = None, /) -> None:
        self.text = text or self.message
        super().__init__(self.text)

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code}
        if self.details is not None:
            out["details"] = self.details
        out["error"] = self.text
        return out


def _details_init(cls: type[KnownError]) -> Callable[..., None]:
    """The ``__init__`` mypy sees for ``cls``: exactly its fields, keyword-only, or a TypeError."""
    names = cls._detail_names
    signature = inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
            *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in names),
        ]
    )

    def init(self: KnownError, /, **values: object) -> None:
        signature.bind(self, **values)
        KnownError.__init__(self)
        self.details = {name: values[name] for name in names}
        for name, value in self.details.items():
            setattr(self, name, value)

    init.__name__ = "__init__"
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__signature__ = signature  # type: ignore[attr-defined]
    return init


def _set_given(cls: type[Exception], **values: object) -> None:
    """Set the class attributes a subclass named as class keywords (the rest it inherits)."""
    for name, value in values.items():
        if value is not None:
            setattr(cls, name, value)


class PlainError(Exception):
    """An error without a known code; sent as text/plain with its message.

    A subclass names its ``status`` and ``message`` as class keywords, or builds the text in its
    ``__init__`` when the text names a value.
    """

    status: int
    message: str

    def __init_subclass__(
        cls, *, status: int | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        _set_given(cls, status=status, message=message)

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
