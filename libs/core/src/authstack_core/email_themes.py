"""Email themes: the layout a templated email renders inside, as a sandboxed Jinja2 source.

A theme is what ``{% extends "layout.html" %}`` resolves to when an email is rendered: it must
place ``{% block content %}`` (the email's body) and may use ``{% block title %}``, ``{% block
footer %}`` and every variable the email has (``projectDisplayName``, ``unsubscribeLink`` when the
mail has one, ...). Upstream writes themes as TSX components; this project stores its Jinja2
source in the same config field (``emails.themes.<id>.tsxSource``).

The three built-in themes (``BUILT_IN_EMAIL_THEMES``) ship with the package; a project may
override one or add its own in its config (``emails.themes.<id>: {displayName, tsxSource}``) and
picks one with ``emails.selectedThemeId``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from authstack_core.models.config import (
    BUILT_IN_EMAIL_THEMES,
    DEFAULT_EMAIL_THEME_ID,
    ProjectConfig,
    ThemeChoice,
)

MAX_THEME_CHARS = 50_000  # themes live in the config every request reads: kept small
MAX_CUSTOM_THEMES = 20

_BUILT_IN_FILES = {
    DEFAULT_EMAIL_THEME_ID: "layout.html",
    "a0172b5d-cff0-463b-83bb-85124697373a": "layout_dark.html",
    "c7e2d94f-8a1b-4e6d-b3f5-9d0a2e7c1b8f": "layout_colorful.html",
}
assert set(_BUILT_IN_FILES) == set(BUILT_IN_EMAIL_THEMES)


def _read(name: str) -> str:
    return (resources.files("authstack_core.email_templates") / name).read_text("utf-8")


BUILT_IN_SOURCES: dict[str, str] = {tid: _read(name) for tid, name in _BUILT_IN_FILES.items()}
DEFAULT_THEME_SOURCE = BUILT_IN_SOURCES[DEFAULT_EMAIL_THEME_ID]


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    display_name: str
    source: str
    is_built_in: bool

    def json(self, *, include_source: bool = False) -> dict[str, str]:
        out = {"id": self.id, "display_name": self.display_name}
        if include_source:
            out["tsx_source"] = self.source
        return out


def project_themes(config: ProjectConfig) -> dict[str, Theme]:
    """The built-in themes (as the project may have edited them), then the project's own, by id.

    An entry of ``emails.themes`` missing a field keeps the built-in one's; a custom entry without
    a source gets the default theme's (upstream creates new themes from it).
    """
    raw = config.raw.get("emails", {}).get("themes")
    entries = raw if isinstance(raw, dict) else {}
    out: dict[str, Theme] = {}
    for tid in (*BUILT_IN_EMAIL_THEMES, *(t for t in entries if t not in BUILT_IN_EMAIL_THEMES)):
        entry = entries.get(tid)
        entry = entry if isinstance(entry, dict) else {}
        name, source = entry.get("displayName"), entry.get("tsxSource")
        built_in = tid in BUILT_IN_EMAIL_THEMES
        out[tid] = Theme(
            id=tid,
            display_name=name if isinstance(name, str) else BUILT_IN_EMAIL_THEMES.get(tid, tid),
            source=(
                source
                if isinstance(source, str)
                else BUILT_IN_SOURCES.get(tid, DEFAULT_THEME_SOURCE)
            ),
            is_built_in=built_in,
        )
    return out


def custom_theme_count(config: ProjectConfig) -> int:
    return sum(not t.is_built_in for t in project_themes(config).values())


def find_theme(config: ProjectConfig, choice: ThemeChoice) -> Theme | None:
    """The theme ``choice`` names (None: the project's selected one); None for no theme
    (``False``). KeyError for an id that is no theme of the project."""
    if choice is False:
        return None
    themes = project_themes(config)
    return themes[config.email_theme if choice is None else choice]
