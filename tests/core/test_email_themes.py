"""Themes without servers: which theme a project has, and how an email renders in one."""

from __future__ import annotations

import pytest

from authstack_core.email_rendering import (
    NO_THEME,
    LiteralEmail,
    TemplateError,
    TemplateSource,
    ThemeError,
    check_theme,
    render,
)
from authstack_core.email_themes import BUILT_IN_SOURCES, find_theme, project_themes
from authstack_core.models.config import DEFAULT_EMAIL_THEME_ID, ProjectConfig

DARK = "a0172b5d-cff0-463b-83bb-85124697373a"
MINE = "6f1c1b7e-4444-4000-8000-000000000000"
THEME = "<main>{% block content %}{% endblock %}</main><i>{{ projectDisplayName }}</i>"
EXTENDS = TemplateSource("s", '{% extends "layout.html" %}{% block content %}B{% endblock %}', None)


def test_a_projects_themes_are_the_built_in_ones_then_its_own() -> None:
    config = ProjectConfig.from_override(
        {
            f"emails.themes.{DARK}": {"displayName": "Night"},  # renamed, source kept
            f"emails.themes.{MINE}": {"displayName": "Mine", "tsxSource": THEME},
            "emails.selectedThemeId": MINE,
        }
    )
    themes = project_themes(config)
    assert list(themes) == [
        DEFAULT_EMAIL_THEME_ID,
        DARK,
        "c7e2d94f-8a1b-4e6d-b3f5-9d0a2e7c1b8f",
        MINE,
    ]
    assert (themes[DARK].display_name, themes[DARK].source) == ("Night", BUILT_IN_SOURCES[DARK])
    assert find_theme(config, None) == themes[MINE]  # the selected one
    assert find_theme(config, DARK) == themes[DARK]
    assert find_theme(config, False) is None
    with pytest.raises(KeyError):
        find_theme(config, "6f1c1b7e-5555-4000-8000-000000000000")
    assert find_theme(ProjectConfig.from_override({}), None) is not None  # the default


def test_a_template_takes_the_theme_by_extending_the_layout() -> None:
    variables = {"projectDisplayName": "P"}
    assert render(EXTENDS, variables, THEME).html == "<main>B</main><i>P</i>"
    bare = render(EXTENDS, variables, NO_THEME).html
    assert "B" in bare
    assert "<main>" not in bare
    # One that does not extend it is a whole email: no theme touches it.
    assert render(TemplateSource("s", "<p>Own</p>", None), variables, THEME).html == "<p>Own</p>"
    literal = LiteralEmail("Hi", "<p>{{ x }}</p>")
    assert render(literal, variables, THEME).html == "<main><p>{{ x }}</p></main><i>P</i>"
    assert render(literal, variables, NO_THEME).html == "<p>{{ x }}</p>"


@pytest.mark.parametrize(
    ("theme", "reason"),
    [
        ("{% block content %}", "theme: line 1"),
        ("<p>none</p>", "no {% block content %}"),
        ("{% if false %}{% block content %}{% endblock %}{% endif %}", "never shows"),
        ("{{ ''.__class__ }}{% block content %}{% endblock %}", "unsafe"),
        ("{{ " + "(" * 200 + "1" + ")" * 200 + " }}{% block content %}{% endblock %}", "nested"),
    ],
)
def test_a_theme_that_cannot_render_the_body_is_refused(theme: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason.replace("{", r"\{").replace("(", r"\(")):
        check_theme(theme)


def test_a_theme_is_checked_and_previewed_with_the_body_inside() -> None:
    assert "<main><b>hi</b></main>" in check_theme(THEME, "<b>hi</b>")
    with pytest.raises(ThemeError):
        render(EXTENDS, {}, "<p>none</p>")
