"""The long-lived objects domain functions work with, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from authstack_core.analytics.service import Analytics
from authstack_core.crypto.passwords import PasswordHasher
from authstack_core.crypto.tokens import TokenService
from authstack_core.db.project_cache import ProjectCache
from authstack_core.jobs import JobQueue
from authstack_core.settings import Settings
from authstack_core.storage import ObjectStore


@dataclass(frozen=True, slots=True)
class Deps:
    settings: Settings
    pool: AsyncConnectionPool
    tokens: TokenService
    passwords: PasswordHasher
    jobs: JobQueue  # wake-up messages to the worker; send them only after commit
    # Events and trusted reads; the API's owns the store, other services get a disabled one.
    analytics: Analytics = field(default_factory=Analytics.disabled)
    # Uploaded files (images); None when STACK_S3_ENDPOINT is unset, and image uploads answer 503.
    storage: ObjectStore | None = None
    # What request authentication reads of a project, kept between requests (the API's only;
    # see db.project_cache). None: every read goes to PostgreSQL.
    project_cache: ProjectCache | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        pool: AsyncConnectionPool,
        analytics: Analytics | None = None,
        project_cache: ProjectCache | None = None,
    ) -> Deps:
        return cls(
            settings=settings,
            pool=pool,
            tokens=TokenService(
                settings.server_secret, settings.api_url, settings.access_token_expiration
            ),
            passwords=PasswordHasher(settings.password_hash_concurrency),
            jobs=JobQueue.from_settings(settings),
            analytics=analytics or Analytics.disabled(),
            storage=ObjectStore.from_settings(settings),
            project_cache=project_cache,
        )
