"""Body fields the email theme, draft and preview routes share."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, UnsetType

from authstack_core.email_rendering import MAX_TEMPLATE_CHARS
from authstack_core.email_themes import MAX_THEME_CHARS
from authstack_core.errors import SchemaError
from authstack_core.models.config import ThemeChoice

Source = Annotated[str, Meta(max_length=MAX_TEMPLATE_CHARS)]
ThemeSource = Annotated[str, Meta(max_length=MAX_THEME_CHARS)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
# A theme id, false (no theme) or null (the project's selected theme): upstream's
# templateThemeIdSchema. ``true`` is refused by ``theme_choice``.
ThemeId = Annotated[str, Meta(min_length=1, max_length=64)] | bool | None
Variables = Annotated[dict[str, Any], Meta(max_length=100)]
MAX_VARIABLES_BYTES = 20_000


def theme_choice(value: ThemeId | UnsetType) -> ThemeChoice | UnsetType:
    if isinstance(value, bool):
        if value:
            raise SchemaError(message="theme_id must be a theme id, false (no theme) or null")
        return False
    return value


def checked_variables(value: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """``value``, once its JSON is known to be small (a preview's or a draft's sample values)."""
    if value is not None and len(msgspec.json.encode(value)) > MAX_VARIABLES_BYTES:
        raise SchemaError(message=f"{name} may hold at most {MAX_VARIABLES_BYTES} bytes of JSON")
    return value
