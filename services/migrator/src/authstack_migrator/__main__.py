"""Entry point: ``python -m authstack_migrator [migrate|seed|all|clickhouse]`` (default: all).

``migrate`` applies PostgreSQL's migrations, then ClickHouse's; ``clickhouse`` only the latter.
"""

from __future__ import annotations

import argparse
import sys

import psycopg
import structlog

from authstack_core.analytics.store import StoreUnavailableError
from authstack_core.runtime import start
from authstack_core.settings import Settings
from authstack_migrator.clickhouse_runner import migrate_clickhouse
from authstack_migrator.runner import MigrationError, MigrationTimeoutError, migrate
from authstack_migrator.seed import seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="authstack-migrator", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="all", choices=["migrate", "seed", "all", "clickhouse"]
    )
    args = parser.parse_args(argv)
    settings = start(Settings, "migrator")
    log = structlog.get_logger("authstack_migrator")
    try:
        if args.command in ("migrate", "all"):
            if settings.should_migrate:
                migrate(
                    settings.database_url,
                    lock_timeout=settings.migration_lock_timeout,
                    statement_timeout=settings.migration_statement_timeout,
                )
                migrate_clickhouse(settings)
            else:
                log.info("migrations skipped by STACK_RUN_MIGRATIONS / STACK_SKIP_MIGRATIONS")
        if args.command == "clickhouse":
            migrate_clickhouse(settings)
        if args.command in ("seed", "all"):
            if settings.should_seed:
                seed(settings)
            else:
                log.info("seed skipped by STACK_RUN_SEED_SCRIPT / STACK_SKIP_SEED_SCRIPT")
    except psycopg.OperationalError as exc:
        # Connection failures carry the host and reason, never the password.
        log.error("database unreachable", reason=str(exc).strip())  # noqa: TRY400
        return 1
    except StoreUnavailableError as exc:
        log.error("ClickHouse unavailable", reason=str(exc))  # noqa: TRY400 - no traceback wanted
        return 1
    except MigrationTimeoutError as exc:
        log.error("migration timed out", reason=str(exc))  # noqa: TRY400 - no traceback wanted
        return 1
    except MigrationError as exc:
        log.error("migration refused", reason=str(exc))  # noqa: TRY400 - no traceback wanted
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
