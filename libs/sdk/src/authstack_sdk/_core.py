"""The transport-free core both faces share: what a call sends and how its answer is read.

An operation (``_calls``) describes one request as a :class:`Call`; the sync and async faces
only move it over their own ``httpx`` client and hand the response back to :meth:`Core.finish`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from authstack_sdk.errors import (
    StackConnectionError,
    StackError,
    StackRateLimitError,
    StackStatusError,
    known_error,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
NO_BODY: Any = object()
# A rate-limited call is sent again after the server's Retry-After only if that is this short.
MAX_RETRY_WAIT_S = 30.0


def _sdk_version() -> str:
    try:
        return version("authstack-sdk")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0"


CLIENT_VERSION = f"python authstack-sdk@{_sdk_version()}"


def segment(value: str) -> str:
    """``value`` as one path segment: nothing in it can climb to another route."""
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request of the API and how to read its answer.

    ``read`` turns the decoded JSON into the result; ``recover``, if set, gets the typed error
    of a failed call and returns the result instead (``get_user`` answers None on USER_NOT_FOUND)
    or raises it again.
    """

    method: str
    path: str
    read: Callable[[Any], T]
    query: Mapping[str, str] | None = None
    body: Any = NO_BODY
    recover: Callable[[StackError], T] | None = None


def as_method(method: Callable[..., Any], operation: Callable[..., Any]) -> None:
    """Give a face's ``method`` the name, docs and signature (``self`` first, the result
    unwrapped from ``Call[...]``) of the ``operation`` it sends, for ``help()`` and editors."""
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(method, name, getattr(operation, name))
    signature = inspect.signature(operation)
    result = signature.return_annotation
    if isinstance(result, str) and result.startswith("Call[") and result.endswith("]"):
        result = result[len("Call[") : -1]
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self, *signature.parameters.values()], return_annotation=result
    )


def none_on(*errors: type[StackError]) -> Callable[[StackError], None]:
    """A ``recover`` answering None to ``errors`` and raising any other error again."""

    def recover(error: StackError) -> None:
        if isinstance(error, errors):
            return
        raise error

    return recover


def flag(value: bool) -> str:
    return "true" if value else "false"


def done(_: Any) -> None:
    """Reads an answer that carries nothing the caller needs (``{"success": true}``)."""


def params(**values: str | int | bool | None) -> dict[str, str]:
    """Query parameters from ``values``, leaving out the ones that are None."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = flag(value) if isinstance(value, bool) else str(value)
    return out


@dataclass(frozen=True, slots=True)
class Core:
    """The project's address and keys, and the request and answer rules of the wire contract."""

    base_url: str
    project_id: str
    secret_server_key: str = field(repr=False)
    publishable_client_key: str | None = None
    rate_limit_retries: int = 3

    @classmethod
    def create(
        cls,
        base_url: str,
        project_id: str,
        secret_server_key: str,
        publishable_client_key: str | None,
        rate_limit_retries: int,
    ) -> Core:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        if not project_id or not secret_server_key:
            raise ValueError("project_id and secret_server_key are required")
        root = base_url.rstrip("/").removesuffix("/api/v1")
        if rate_limit_retries < 0:
            raise ValueError("rate_limit_retries must be 0 or more")
        return cls(root, project_id, secret_server_key, publishable_client_key, rate_limit_retries)

    def headers(self) -> dict[str, str]:
        out = {
            "x-stack-access-type": "server",
            "x-stack-project-id": self.project_id,
            "x-stack-secret-server-key": self.secret_server_key,
            "x-stack-client-version": CLIENT_VERSION,
            "accept": "application/json",
        }
        if self.publishable_client_key:
            out["x-stack-publishable-client-key"] = self.publishable_client_key
        return out

    def request(self, call: Call[Any]) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client.request`` (or the async one's) for ``call``."""
        args: dict[str, Any] = {
            "method": call.method,
            "url": f"{self.base_url}/api/v1{call.path}",
            "headers": self.headers(),
        }
        if call.query:
            args["params"] = dict(call.query)
        if call.body is not NO_BODY:
            args["json"] = call.body
        return args

    def retry_after(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before sending a call again that was answered ``response`` on its
        ``attempt``-th retry, or None to take the answer as it is. Only a rate-limited answer
        is retried (it was not acted on), as the JS SDK does, and only for a short wait."""
        if attempt >= self.rate_limit_retries or not _is_rate_limited(response):
            return None
        wait = _retry_after(response)
        if wait is None or wait > MAX_RETRY_WAIT_S:
            return None
        return wait

    @staticmethod
    def finish(call: Call[T], response: httpx.Response) -> T:
        """The result of ``call`` from its ``response``, or its typed error raised."""
        try:
            return call.read(_payload(response))
        except StackError as error:
            if call.recover is None:
                raise
            return call.recover(error)

    @staticmethod
    def transport_failed(call: Call[T], error: httpx.HTTPError) -> T:
        """The outcome of ``call`` when the request got no answer at all."""
        message = f"{call.method} {call.path} got no answer: {type(error).__name__}: {error}"
        raise StackConnectionError(message) from error


def _is_rate_limited(response: httpx.Response) -> bool:
    return _status(response) == 429 and "x-stack-known-error" not in response.headers


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (HTTP dates are not used by this API)."""
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _status(response: httpx.Response) -> int:
    """The real status: a server honouring ``x-stack-override-error-status`` reports it apart."""
    actual = response.headers.get("x-stack-actual-status")
    return int(actual) if actual and actual.isdigit() else response.status_code


def _payload(response: httpx.Response) -> Any:
    """The decoded JSON of a successful answer; the typed error of any other."""
    status = _status(response)
    code = response.headers.get("x-stack-known-error") or response.headers.get(
        "x-hexclave-known-error"
    )
    if code:
        body = _json_or_none(response)
        if not isinstance(body, dict) or body.get("code") != code:
            raise StackStatusError(
                f"known error {code} without a matching body", code=code, status=status
            )
        details = body.get("details")
        raise known_error(
            code,
            str(body.get("error") or code),
            status=status,
            details=details if isinstance(details, dict) else None,
        )
    if _is_rate_limited(response):
        raise StackRateLimitError(
            f"HTTP 429: {response.text.strip()[:500]}",
            status=429,
            retry_after=_retry_after(response),
        )
    if status >= 400 or response.status_code >= 300:
        text = response.text.strip() or response.reason_phrase
        raise StackStatusError(f"HTTP {status}: {text[:500]}", status=status)
    body = _json_or_none(response)
    if body is None and response.content:
        raise StackStatusError("the answer is not JSON", status=status)
    return body


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
