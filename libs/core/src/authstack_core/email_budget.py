"""The work, size and time budget of one email render (``email_sandbox`` says what it charges)."""

from __future__ import annotations

import contextlib
import re
import string
import time
from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from contextvars import ContextVar
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

MAX_VALUE_SIZE = 2_000_000  # characters: any value, flattened, and all output of one render
MAX_STEPS = 100_000  # loop iterations, calls, filters, operators, comparisons, output pieces
MAX_LOOP_ITERATIONS = 10_000  # over all loops of one render: nested loops multiply
MAX_SIZE_ARGUMENT = 10_000  # a width, padding, batch or slice count given to a filter or method
MAX_INT_BITS = 10_000  # numbers a template computes stay below ~3000 digits
RENDER_SECONDS = 2.0  # wall-clock budget of one render (subject, HTML and text each)

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[a-zA-Z%]")


class BudgetExceeded(Exception):  # noqa: N818 (it is an error; the name reads better as is)
    """The template went over its work, size or time budget; the message names the limit.

    Deliberately not a subclass of the exceptions Jinja or Python code catch and turn into
    ``Undefined`` or a default (TypeError, LookupError, AttributeError).
    """


class Budget:
    """What one render may still spend. Set for the duration of a render with ``activate``."""

    __slots__ = ("_sizes", "deadline", "iterations", "output", "seconds", "steps")

    def __init__(self, seconds: float = RENDER_SECONDS) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.steps = 0
        self.iterations = 0
        self.output = 0
        # id -> (object, size). Holding the object keeps its id from being reused while cached.
        self._sizes: dict[int, tuple[object, int]] = {}

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(f"the template takes more than {MAX_STEPS} steps to render")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"the template takes longer than {self.seconds:g} s to render")

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise BudgetExceeded(
                f"the template's loops run more than {MAX_LOOP_ITERATIONS} times in all"
            )
        self.step()

    def emit(self, piece: str) -> str:
        self.output += len(piece)
        if self.output > MAX_VALUE_SIZE:
            raise BudgetExceeded(f"the template writes more than {MAX_VALUE_SIZE} characters")
        self.step()
        return piece

    def cached_size(self, value: object) -> int | None:
        hit = self._sizes.get(id(value))
        return hit[1] if hit is not None else None

    def remember_size(self, value: object, size: int) -> None:
        self._sizes[id(value)] = (value, size)


_BUDGET: ContextVar[Budget | None] = ContextVar("email_render_budget", default=None)


@contextlib.contextmanager
def activate(budget: Budget) -> Iterator[Budget]:
    """Charge the renders made inside the block (in this thread or task) to ``budget``."""
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def active_budget() -> Budget | None:
    """The budget renders in this thread or task are charged to, if one is active."""
    return _BUDGET.get()


def charge_step() -> None:
    """Count one step against the active budget; BudgetExceeded past MAX_STEPS or the deadline."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.step()


def _too_big(what: str) -> BudgetExceeded:
    return BudgetExceeded(f"{what} would exceed {MAX_VALUE_SIZE} characters")


# --- sizes ----------------------------------------------------------------------------------------


def size_of(value: Any) -> int:
    """About how many characters ``value`` takes as text (containers flattened); raise
    BudgetExceeded over MAX_VALUE_SIZE, and SecurityError for a namespace inside a container."""
    size = _size(value, _BUDGET.get(), inside=False)
    if size > MAX_VALUE_SIZE:
        raise _too_big("a value")
    return size


def _size(value: Any, budget: Budget | None, *, inside: bool) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return 8
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, Namespace):
        if inside:
            raise SecurityError("a namespace cannot be stored in a list, dict or namespace")
        # Not cached: a namespace changes. Its values are plain (checked when stored), so this
        # costs one cached lookup per attribute.
        attrs: dict[str, Any] = object.__getattribute__(value, "_Namespace__attrs")
        return 16 + sum(len(k) + 4 + _size(v, budget, inside=True) for k, v in attrs.items())
    if isinstance(value, list | tuple | set | frozenset | dict | KeysView | ValuesView | ItemsView):
        cached = budget.cached_size(value) if budget is not None else None
        if cached is not None:
            return cached
        items: Iterable[Any] = (
            (x for kv in value.items() for x in kv) if isinstance(value, dict) else value
        )  # a dict view prints the dict's items: measured like a list of them
        size = 2
        for item in items:
            # repr() of a string in a container may escape each character (up to 4x longer).
            size += 2 + (4 * len(item) if isinstance(item, str) else 0)
            size += _size(item, budget, inside=True) if not isinstance(item, str) else 0
            if size > MAX_VALUE_SIZE:
                raise _too_big("a list or dict")
        if budget is not None:
            budget.remember_size(value, size)
        return size
    return 64  # Undefined, macros, loop and cycler objects, ranges: short when printed


def sized(value: Any) -> Any:
    """``value`` itself, once measured (see ``size_of``)."""
    size_of(value)
    return value


def check_int(name: str, value: Any) -> None:
    """BudgetExceeded if ``value`` is an int over MAX_SIZE_ARGUMENT (a width, count, ...)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE_ARGUMENT:
        raise BudgetExceeded(f"{name} is limited to {MAX_SIZE_ARGUMENT} in emails")


def check_estimate(what: str, estimate: int) -> None:
    """BudgetExceeded if a value about to be built would be ``estimate`` > MAX_VALUE_SIZE long."""
    if estimate > MAX_VALUE_SIZE:
        raise _too_big(what)


def replace_estimate(text: str, old: Any, new: Any, count: Any = -1) -> int:
    """How long ``text.replace(old, new, count)`` would be, without building it."""
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def join_checked(sep: str, items: Any) -> list[Any]:
    """``items`` as a list, once the text joining them by ``sep`` is known to fit the budget."""
    listed = list(items)
    total = len(sep) * max(0, len(listed) - 1) + sum(size_of(item) for item in listed)
    check_estimate("the joined text", total)
    return listed


def check_percent_format(fmt: str, values: Any) -> None:
    """BudgetExceeded if ``fmt % values`` could go over the budget (widths or output size)."""
    specs = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        specs += 1
        for number in match.groups():
            if number == "*" or (number and int(number) > MAX_SIZE_ARGUMENT):
                raise BudgetExceeded(f"format widths are limited to {MAX_SIZE_ARGUMENT}")
    # Each conversion prints at most all of the values (a mapping may be named repeatedly).
    check_estimate("the formatted text", len(fmt) + specs * size_of(values))


def check_brace_format(fmt: str, args: Any, kwargs: Any) -> None:
    """BudgetExceeded if ``fmt.format(...)`` could go over the budget (widths or output size)."""
    fields = 0
    for _, field, spec, _ in string.Formatter().parse(fmt):
        if field is None:
            continue
        fields += 1
        if spec and (
            "{" in spec or any(int(n) > MAX_SIZE_ARGUMENT for n in re.findall(r"\d+", spec))
        ):
            raise BudgetExceeded(f"format widths are limited to {MAX_SIZE_ARGUMENT}")
    check_estimate("the formatted text", len(fmt) + fields * (size_of(args) + size_of(kwargs)))
