"""What one probe of the isolation matrix is (isolation_probes.py lists them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Expect = Literal["denied", "empty", "own"]
As = Literal["client", "server", "admin"]


@dataclass(frozen=True)
class Probe:
    """One request by A naming B's ids. ``{name}`` placeholders come from ``World.ids``."""

    method: str
    route: str  # the route as registered, e.g. "/api/v1/teams/{team_id:str}"
    path: str  # the concrete path with placeholders
    as_: As
    expect: Expect
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.as_} {self.method} {self.path}{'?' + query if query else ''}"


def p(
    method: str, route: str, as_: As, expect: Expect, path: str | None = None, **kw: Any
) -> Probe:
    return Probe(method, route, path or route.replace(":str", ""), as_, expect, **kw)
