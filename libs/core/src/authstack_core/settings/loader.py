"""The one loader and the one production check every service's settings class shares."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from authstack_core.secret_policy import Kind, production_problems

CONFIG = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True, frozen=True)


class SettingsError(Exception):
    """Raised at start-up when the environment does not describe a runnable service."""


def env(*names: str) -> AliasChoices:
    """The environment variables a field reads, the first one being the name errors give."""
    return AliasChoices(*names)


def listed(value: object, example: str) -> list[str]:
    """The items of a comma- or space-separated variable (or of a list given in code), stripped;
    a ValueError showing ``example`` otherwise."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a comma-separated list, e.g. {example}")  # noqa: TRY004  # pydantic reports ValueErrors
    return [str(item).strip() for item in items]


class Section(BaseSettings):
    """One area of settings (database, email, ...); a service's settings class composes several."""

    model_config = CONFIG


class ServiceSettings(BaseSettings):
    """A service's whole configuration: the sections it composes, one loader, one production check.

    Subclasses name their production secrets in the class variables below; a new secret joins
    with one line there.
    """

    model_config = CONFIG

    # Field -> kind of each secret production mode checks, and which of them must be set.
    production_secrets: ClassVar[dict[str, Kind]] = {}
    production_required: ClassVar[frozenset[str]] = frozenset()
    # Fields naming development-only switches, which production mode refuses when on.
    development_switches: ClassVar[tuple[str, ...]] = ()

    # "production" refuses example and weak secrets (see secret_policy); the images default to it.
    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias=env("STACK_ENVIRONMENT")
    )

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @field_validator("api_url", "dashboard_url", check_fields=False)
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Self:
        # SettingsError is not a ValueError, so pydantic lets it through unwrapped.
        if self.environment != "production":
            return self
        problems = production_problems(
            {
                field: (getattr(self, field), kind)
                for field, kind in self.production_secrets.items()
            },
            required=self.production_required,
            # A service without a database connection has no database password to check.
            database_url=getattr(self, "database_url", ""),
            development_switches={name: getattr(self, name) for name in self.development_switches},
        )
        if not problems:
            return self
        lines = [f"  - {self.variable_name(p.field)}: {p.reason}" for p in problems]
        raise SettingsError(
            "refusing to start in production mode (STACK_ENVIRONMENT=production) with example,"
            " weak or missing secrets; generate each with"
            ' `python -c "import secrets; print(secrets.token_urlsafe(32))"`:\n' + "\n".join(lines)
        )

    @classmethod
    def variable_name(cls, field: str) -> str:
        """The environment variable a field is read from (the field's name if it has none)."""
        info = cls.model_fields.get(field)
        alias = info.validation_alias if info else None
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return field

    @classmethod
    def from_env(cls) -> Self:
        """Read the process environment; raise SettingsError naming each bad variable."""
        try:
            return cls()
        except ValidationError as exc:
            lines = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else "?"
                lines.append(f"  - {cls.variable_name(field)}: {error['msg']}")
            raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None
