"""The text of every SCHEMA_ERROR: one line per problem, worded and located as upstream's.

Upstream validates a whole request (``auth``, ``body``, ``query``, ``params``) with yup and answers

    Request validation failed on POST /api/v1/auth/password/sign-up:
      - body.email must be defined
      - body contains unknown properties: favourite_colour

This module is the one place that writes that text. Raise sites say only what is wrong: Litestar's
and msgspec's validation errors are reworded here; a ``SchemaError`` holds its problems, one per
line (a line starting with a space continues the one above), and a problem that starts with the
bare name of a request value (``team_id must be a valid UUID``) is given that value's location.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

from authstack_api.inputs import parsed_body
from authstack_api.schemas import EMAIL_PATTERN
from authstack_core.errors import SchemaError

# Where a value sits, in upstream's words (Litestar says "path" and "header").
_LOCATIONS = {"body": "body", "query": "query", "path": "params", "header": "headers"}
_LOCATED = re.compile(r"(body|query|params|auth|headers)\b")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_PATH_STEP = re.compile(r"[^.\[\]]+|\[(\d+)\]")
# yup's names for the types msgspec names.
_TYPES = {"str": "string", "int": "number", "float": "number", "bool": "boolean"}
_NO_VALUE = object()
# msgspec quotes a pattern it names as Python's repr does.
_EMAIL_REGEX = repr(EMAIL_PATTERN)[1:-1]


def _value_at(body: Any, key: str) -> Any:
    value = body
    for step in _PATH_STEP.finditer(key):
        index = step.group(1)
        if index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif index is None and isinstance(value, dict) and step.group() in value:
            value = value[step.group()]
        else:
            return _NO_VALUE
    return value


def _printed(value: Any) -> str:
    """A value as yup's messages print it (JSON, strings quoted)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _type_problem(where: str, expected: str, got: str, value: Any) -> str:
    if got == "null":
        return f"{where} cannot be null"
    name = next(t for t in expected.split(" | ") if t != "null")
    text = f"{where} must be a `{_TYPES.get(name, name)}` type"
    if value is _NO_VALUE:
        return text
    return f"{text}, but the final value was: `{_printed(value)}`."


def _bound_problem(where: str, expected: str, op: str, bound: str) -> str:
    if expected == "str":
        size = "at most" if op == "<=" else "at least"
        return f"{where} must be {size} {bound} characters"
    if expected == "array":
        size = "less than or equal to" if op == "<=" else "at least"
        return f"{where} field must have {size} {bound} items"
    words = {">=": "greater than or equal to", "<=": "less than or equal to"}
    return f"{where} must be {words.get(op, 'greater than' if op == '>' else 'less than')} {bound}"


def describe(where: str, message: str, value: Any = _NO_VALUE) -> str:
    """One msgspec or Litestar validation message about the value at ``where``, as upstream
    words it."""
    if m := re.fullmatch(r"Object missing required field `(.+)`", message):
        return f"{where}.{m[1]} must be defined"
    if m := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return f"{where} contains unknown properties: {m[1]}"
    if m := re.fullmatch(r"Expected `(.+?)`, got `(.+)`", message):
        return _type_problem(where, m[1], m[2], value)
    if m := re.fullmatch(r"Expected `(\w+)` of length (<=|>=) (\d+)", message):
        return _bound_problem(where, m[1], m[2], m[3])
    if m := re.fullmatch(r"Expected `(\w+)` (<=|>=|<|>) (\S+)", message):
        return _bound_problem(where, m[1], m[2], m[3])
    if m := re.fullmatch(r"Expected `str` matching regex '(.*)'", message):
        if m[1] == _EMAIL_REGEX:
            return f"{where} must be a valid email"
        return f'{where} must match the following: "/{m[1]}/"'
    if re.fullmatch(r"Invalid enum value .*", message):
        return f"{where} must be one of the allowed values"
    if re.fullmatch(r"'[^']*'", message):  # Litestar: a required argument was not sent at all
        return f"{where} must be defined"
    # A check of our own (a struct's __post_init__) names the field it refused.
    return f"{where}.{message}" if _NAME.match(message) else f"{where}: {message}"


def _validation_problems(request: Request[Any, Any, Any], exc: ValidationException) -> list[str]:
    items = [i for i in exc.extra if isinstance(i, dict)] if isinstance(exc.extra, list) else []
    if not items:
        if m := _MISSING_PARAMETER.match(str(exc.detail)):
            return [f"{_LOCATIONS.get(m[1], m[1])}.{m[2]} must be defined"]
        return [str(exc.detail)]
    problems = []
    body = parsed_body(request)
    for item in items:
        source = str(item.get("source") or "body")
        key = str(item.get("key") or "data")
        location = _LOCATIONS.get(source, source)
        # Litestar names the body as a whole "data".
        where = location if key == "data" else f"{location}.{key}"
        if source == "body":
            value = body if key == "data" else _value_at(body, key)
        else:
            value = request.query_params.get(key, _NO_VALUE) if source == "query" else _NO_VALUE
        problems.append(describe(where, str(item.get("message", "")), value))
    return problems


def _located(problem: str, request: Request[Any, Any, Any]) -> str:
    """``problem`` with the location of the request value whose bare name starts it, if any."""
    if _LOCATED.match(problem):
        return problem
    name = _NAME.match(problem)
    if name is None:
        return problem
    body = parsed_body(request)
    for location, values in (
        ("params", request.path_params),
        ("query", request.query_params),
        ("body", body if isinstance(body, dict) else {}),
    ):
        if name.group() in values:
            return f"{location}.{problem}"
    return problem


def _text(request: Request[Any, Any, Any], problems: Iterable[str]) -> str:
    lines = [f"Request validation failed on {request.method} {request.url.path}:"]
    for problem in problems:
        for line in problem.splitlines():
            if line[:1].isspace():
                lines.append(f"    {line}")  # continues the problem above
            else:
                lines.append(f"  - {_located(line, request)}")
    return "\n".join(lines)


def schema_error(
    request: Request[Any, Any, Any], exc: SchemaError | ValidationException
) -> SchemaError:
    """The SCHEMA_ERROR to send for ``exc``: a check of ours, or a request Litestar (or
    ``schemas.convert``) refused."""
    problems = [exc.text] if isinstance(exc, SchemaError) else _validation_problems(request, exc)
    return SchemaError(message=_text(request, problems))
