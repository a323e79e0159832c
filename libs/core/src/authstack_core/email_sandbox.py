"""The Jinja2 sandbox emails render in: Jinja's immutable sandbox plus a work and time budget.

Jinja's sandbox stops a template from reaching Python internals, but not from working forever
or building a gigabyte string: three nested ``range(1000)`` loops are a billion iterations, and
``"x" * 10**9`` or a list doubled forty times by ``{% set %}`` exhaust memory in one step. A
thread cannot be killed, so the budget is enforced from inside the rendering, cooperatively:

* every loop iteration, call, filter, operator, comparison and output piece is a *step*; a
  render may take ``MAX_STEPS`` of them (``MAX_LOOP_ITERATIONS`` of which loop iterations) and
  each step checks the render's deadline;
* every value a template can create (strings, lists, dicts, numbers) is kept below
  ``MAX_VALUE_SIZE`` characters when flattened, *before* the operation that would create it
  runs (multiplication, ``replace``, ``join``, padding, format widths, ...), so no single step
  can allocate or convert more than that; and all output, including what ``{% set %}`` blocks
  and macros capture, adds up to at most ``MAX_VALUE_SIZE`` characters;
* recursive loops and ``lipsum`` are not available, and a ``namespace`` may not be put inside a
  list, dict or another namespace (it is the one mutable container, so a size measured once
  could grow behind a container's back).

The limits and the accounting live in ``email_budget``; this module wires them into Jinja. Over
budget, rendering stops with ``BudgetExceeded`` naming the limit.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from authstack_core.email_budget import (
    MAX_INT_BITS,
    BudgetExceeded,
    active_budget,
    charge_step,
    check_brace_format,
    check_estimate,
    check_int,
    check_percent_format,
    join_checked,
    replace_estimate,
    size_of,
    sized,
)

# Internal filters the parser wraps around loop iterables, comparisons and tests, and around
# values stored in a namespace. Filters live in their own namespace: a template cannot
# shadow them with a variable (calling them itself is harmless).
_LOOP = "_budget_loop"
_STEP = "_budget_step"
_NS_VALUE = "_budget_ns_value"
_SIZED = "_budget_sized"
_CONCAT = "_budget_concat"

# str methods a template may call; the rest (translate, expandtabs, encode, ...) are refused.
_STR_METHODS = frozenset(
    [
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "isidentifier",
        "islower",
        "isnumeric",
        "isprintable",
        "isspace",
        "istitle",
        "isupper",
        "join",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "zfill",
        "format",
        "format_map",
        "striptags",
        "unescape",
        "escape",
    ]
)
_PLUMBING_KWARGS = frozenset({"_loop_vars", "_block_vars", "caller"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


# --- filters --------------------------------------------------------------------------------------


def _loop_filter(iterable: Any) -> Iterator[Any]:
    budget = active_budget()
    for item in iterable:
        if budget is not None:
            budget.iteration()
        yield item


def _step_filter(value: Any) -> Any:
    charge_step()
    return value


@jinja2.pass_eval_context
def _concat_filter(eval_ctx: EvalContext, *parts: Any) -> str:
    charge_step()
    check_estimate("the joined text", sum(size_of(part) for part in parts))
    joined: str = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    size_of(joined)
    return joined


def _ns_value_filter(value: Any) -> Any:
    if isinstance(value, Namespace):
        raise SecurityError("a namespace cannot be stored in a list, dict or namespace")
    return sized(value)


def _filter_prechecks(name: str, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    """Refuse, before they run, the built-in filters whose output can dwarf their input."""

    def arg(pos: int, key: str, default: Any = None) -> Any:
        return args[pos] if len(args) > pos else kw.get(key, default)

    sizes = {"center": (0, "width"), "batch": (0, "linecount"), "slice": (0, "slices")}
    if name in sizes:
        check_int(f"the {name} filter's size", arg(*sizes[name]))
    elif name == "indent":
        width = arg(0, "width", 4)
        check_int("the indent width", width)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        lines = str(value).count("\n") + 1
        check_estimate("the indented text", len(str(value)) + lines * max(0, pad))
    elif name == "wordwrap":
        width, wrap = arg(0, "width", 79), arg(2, "wrapstring")
        if isinstance(wrap, str) and isinstance(width, int):
            lines = len(str(value)) // max(1, width) + str(value).count("\n") + 1
            check_estimate("the wrapped text", len(str(value)) + lines * len(wrap))
    elif name == "replace" and isinstance(value, str):
        check_estimate("the replaced text", replace_estimate(value, *args[:3]))
    elif name == "format" and isinstance(value, str):
        check_percent_format(value, kw or args)
    elif name == "tojson":
        indent = arg(0, "indent")
        if isinstance(indent, int) and indent > 8:
            raise BudgetExceeded("tojson's indent is limited to 8 in emails")
    elif name == "sum":
        start = arg(1, "start", 0)
        if not isinstance(start, int | float):
            raise SecurityError("sum only adds numbers in emails")


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    pass_arg = getattr(func, "jinja_pass_arg", None)
    skip = 0 if pass_arg is None else 1  # the environment or context Jinja passes first

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        charge_step()
        value, rest = (args[skip], args[skip + 1 :]) if len(args) > skip else (None, ())
        for item in (*args[skip:], *kwargs.values()):
            size_of(item)
        _filter_prechecks(name, value, rest, kwargs)
        if name == "join":
            sep = rest[0] if rest else kwargs.get("d", "")
            listed = join_checked(str(sep), value)
            args = (*args[:skip], listed, *rest)
        return sized(func(*args, **kwargs))

    return wrapper


def _namespace(*args: Any, **kwargs: Any) -> Namespace:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Namespace):
            raise SecurityError("a namespace cannot be stored in a list, dict or namespace")
        size_of(value)
    ns = Namespace(*args, **kwargs)
    size_of(ns)
    return ns


# --- parsing and code generation ------------------------------------------------------------------


def _wrap(node: nodes.Node, name: str) -> nodes.Filter:
    assert isinstance(node, nodes.Expr)
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Count loop iterations and comparisons; measure literals, ``~`` joins and what is stored
    in a namespace. (Method names are Jinja's visitor protocol: ``visit_<NodeClass>``.)"""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802
        if node.recursive:
            raise jinja2.TemplateSyntaxError(
                "recursive loops are not allowed in emails", node.lineno
            )
        self.generic_visit(node)
        node.iter = _wrap(node.iter, _LOOP)
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _wrap(node, _STEP)

    visit_Test = visit_Compare  # noqa: N815

    def _sized_literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return _wrap(node, _SIZED)

    visit_List = visit_Dict = _sized_literal  # noqa: N815

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:  # noqa: N802
        if node.ctx != "load":  # an assignment target, not a value
            return node
        return self._sized_literal(node)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        # `a ~ b ~ c` becomes `a|_budget_concat(b, c)`: the parts are measured before they are
        # converted and joined, so a hundred copies of a large value are refused up front.
        self.generic_visit(node)
        first, *rest = node.nodes
        return nodes.Filter(first, _CONCAT, rest, [], None, None, lineno=node.lineno)

    def visit_Assign(self, node: nodes.Assign) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        if any(
            isinstance(t, nodes.NSRef) for t in [node.target, *node.target.find_all(nodes.NSRef)]
        ):
            node.node = _wrap(node.node, _NS_VALUE)
        return node


class _BudgetedCodeGenerator(CodeGenerator):
    """Emit code that measures every output piece (before it is converted) and tallies it."""

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.email_emit({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.email_emit(")
        super()._output_child_pre(node, frame, finalize)
        self.write("environment.email_sized(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(")")
        super()._output_child_post(node, frame, finalize)
        self.write(")")


# --- the environment ------------------------------------------------------------------------------


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, charging every render to the active ``Budget``."""

    code_generator_class = _BudgetedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _budgeted_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP] = _loop_filter
        self.filters[_STEP] = _step_filter
        self.filters[_NS_VALUE] = _ns_value_filter
        self.filters[_SIZED] = sized
        self.filters[_CONCAT] = _concat_filter
        self.globals.pop("lipsum", None)  # lipsum(10**6) is a memory bomb; emails need no filler
        self.globals["namespace"] = _namespace

    # Called by the generated code (see _BudgetedCodeGenerator).
    @staticmethod
    def email_sized(value: Any) -> Any:
        return sized(value)

    @staticmethod
    def email_emit(piece: str) -> str:
        budget = active_budget()
        return budget.emit(piece) if budget is not None else piece

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _Instrument().visit(super()._parse(source, name, filename))
        assert isinstance(tree, nodes.Template)
        tree.set_environment(self)
        return tree

    def getattr(self, obj: Any, attribute: str) -> Any:
        charge_step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        charge_step()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        charge_step()
        left_size, right_size = size_of(left), size_of(right)
        numbers = (int, float)
        if operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                check_estimate("the repeated value", size_of(seq) * max(0, times))
            elif (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise BudgetExceeded("the number would be too large")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right > 0 and left.bit_length() * right > MAX_INT_BITS:
                raise BudgetExceeded("the number would be too large")
        elif operator == "%" and isinstance(left, str):
            check_percent_format(left, right)
        elif operator == "+" and not (isinstance(left, numbers) and isinstance(right, numbers)):
            check_estimate("the joined value", left_size + right_size)
        return sized(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        is_map = value.__name__ == "format_map"

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            check_brace_format(fmt, args, kwargs if not is_map else args)
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        charge_step()
        for key, value in (*enumerate(args), *kwargs.items()):
            if key not in _PLUMBING_KWARGS:  # loop and block variables Jinja passes to macros
                size_of(value)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType | types.MethodType):
            args = _check_str_method(owner, __obj.__name__, args, kwargs)
        return sized(super().call(__context, __obj, *args, **kwargs))


def _check_str_method(
    text: str, name: str, args: tuple[Any, ...], kw: dict[str, Any]
) -> tuple[Any, ...]:
    if name not in _STR_METHODS:
        raise SecurityError(f"str.{name}() is not available in emails")
    if name in _WIDTH_METHODS:
        check_int(f"str.{name}()'s width", args[0] if args else kw.get("width"))
    elif name == "replace":
        check_estimate("the replaced text", replace_estimate(text, *args[:3]))
    elif name == "join" and args:
        args = (join_checked(text, args[0]), *args[1:])
    return args
