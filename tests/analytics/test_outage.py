"""Analytics never stop sign-ins: with ClickHouse down, busy or unmigrated, sign-up, sign-in and
refresh still succeed, and admin SQL answers ANALYTICS_QUERY_ERROR (never a 5xx)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.analytics.helpers import analytics_query
from tests.analytics.test_migrations import HOLD
from tests.api.helpers import (
    PASSWORD,
    assert_known_error,
    refresh,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.conftest import running_api
from tests.factories import create_project, free_port


@pytest.fixture
def held_folder(tmp_path: Path) -> Iterator[Path]:
    """A store folder another process holds open (as a second API or a stray migrator would)."""
    folder = tmp_path / "store"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield folder
    finally:
        holder.kill()
        holder.wait()


def _outage_urls(tmp_path: Path, held: Path) -> dict[str, str]:
    return {
        "server down": f"http://127.0.0.1:{free_port()}",
        "store held by another process": f"chdb://{held}",
        "store never migrated": f"chdb://{tmp_path / 'empty'}",
    }


@pytest.mark.parametrize(
    "case", ["server down", "store held by another process", "store never migrated"]
)
def test_sign_in_works_and_admin_sql_fails_cleanly_without_clickhouse(
    migrated_database: str, tmp_path: Path, held_folder: Path, case: str
) -> None:
    url = _outage_urls(tmp_path, held_folder)[case]
    project = create_project(migrated_database, {"apps.installed.analytics.enabled": True})
    with running_api(migrated_database, STACK_CLICKHOUSE_URL=url) as api, api.client() as http:
        email = unique_email("outage")
        tokens = sign_up(http, project, email=email)
        assert sign_in_with_password(http, project, email, PASSWORD).status_code == 200
        for _ in range(3):
            assert refresh(http, project, tokens["refresh_token"]).status_code == 200
        r = analytics_query(http, project, "SELECT count() FROM events")
        assert_known_error(r, "ANALYTICS_QUERY_ERROR", 400)
        metrics = http.get("/api/v1/internal/metrics", headers=project.headers("admin"))
        assert metrics.status_code == 200, metrics.text
        assert metrics.json()["total_users"] == 1
