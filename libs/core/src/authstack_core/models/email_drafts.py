"""Email drafts: the stored row, its wire shape and how a theme choice is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from authstack_core.models.config import ThemeChoice
from authstack_core.models.shapes import millis

ThemeMode = Literal["project_default", "none", "custom"]

# What a new draft holds when it is created without a source (upstream starts from a greeting).
DEFAULT_DRAFT_SUBJECT = "Hello {{ userDisplayName or 'there' }}!"
DEFAULT_DRAFT_SOURCE = """{% extends "layout.html" %}
{% block content %}
<p style="margin:0;font-weight:600;">Hi {{ userDisplayName or "there" }}!</p>
{% endblock %}
"""


def theme_mode(choice: ThemeChoice) -> tuple[ThemeMode, str | None]:
    """How a theme choice is stored: (theme_mode, theme_id)."""
    if choice is None:
        return "project_default", None
    if choice is False:
        return "none", None
    return "custom", choice


@dataclass(slots=True)
class DraftRow:
    id: uuid.UUID
    display_name: str
    subject: str
    source: str
    theme_mode: ThemeMode
    theme_id: str | None
    template_variables: dict[str, Any]
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def theme(self) -> ThemeChoice:
        """The stored choice back: None (the project's theme), False (none) or a theme id."""
        if self.theme_mode == "none":
            return False
        return self.theme_id if self.theme_mode == "custom" else None

    def json(self) -> dict[str, Any]:
        """Upstream's draft, with its TSX field carrying this project's Jinja2 source; ``subject``
        is this project's own (upstream's TSX sets the subject inside the source)."""
        return {
            "id": str(self.id),
            "display_name": self.display_name,
            "tsx_source": self.source,
            "theme_id": self.theme,
            "sent_at_millis": millis(self.sent_at) if self.sent_at is not None else None,
            "template_variables": self.template_variables,
            "subject": self.subject,
        }
