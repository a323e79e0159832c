"""Stored images on dashboard pages: a user's and a team's uploaded image load in a real browser
(the CSP allows the storage's public base and nothing wider); the CSP itself, per setting."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from authstack_core.settings import DashboardSettings
from authstack_dashboard.images import content_security_policy, image_source
from tests.api.helpers import create_user
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import admin_project, unique


def png_data_url(colour: tuple[int, int, int], size: int = 64) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def natural_width(page: Any, selector: str) -> int:
    locator = page.locator(selector)
    locator.wait_for()
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete; }", arg=selector
    )
    width: int = locator.evaluate("img => img.naturalWidth")
    return width


def test_user_and_team_images_load_on_their_pages(
    page: Any, dashboard: DashboardServer, api: Any, s3_env: dict[str, str]
) -> None:
    name = unique("Ada")
    with api.client() as http:
        project = admin_project(http, "Images")
        user = create_user(http, project, display_name=name)
        r = http.patch(
            f"/api/v1/users/{user['id']}",
            headers=project.headers("server"),
            json={"profile_image_url": png_data_url((200, 40, 40))},
        )
        assert r.status_code == 200, r.text
        image_url = r.json()["profile_image_url"]
        public_base = f"{s3_env['STACK_S3_ENDPOINT']}/{s3_env['STACK_S3_BUCKET']}/"
        assert image_url.startswith(public_base)
        plain = create_user(http, project, display_name=unique("NoImage"))
        r = http.post(
            "/api/v1/teams",
            headers=project.headers("server"),
            json={"display_name": "Pictured", "profile_image_url": png_data_url((40, 40, 200))},
        )
        assert r.status_code == 201, r.text
        team = r.json()

    sign_in(page)
    page.goto(f"/projects/{project.id}/users")
    listed = f'img[alt="Profile image of {name}"]'
    assert natural_width(page, listed) == 64
    assert page.locator(f'img[alt="Profile image of {plain["display_name"]}"]').count() == 0
    page.goto(f"/projects/{project.id}/users/{user['id']}")
    big = page.locator("img.avatar-lg")
    assert big.get_attribute("src") == image_url
    assert natural_width(page, "img.avatar-lg") == 64
    assert big.bounding_box()["width"] == pytest.approx(96, abs=1)  # sized by its CSS class
    screenshot(page, "images_user_page")
    page.goto(f"/projects/{project.id}/teams/{team['id']}")
    assert natural_width(page, 'img[alt="Image of team Pictured"]') == 64
    screenshot(page, "images_team_page")


def test_csp_allows_images_from_the_public_base_only(
    dashboard: DashboardServer, s3_env: dict[str, str]
) -> None:
    csp = httpx.get(f"{dashboard.url}/sign-in").headers["content-security-policy"]
    img_src = next(d for d in csp.split("; ") if d.startswith("img-src"))
    base = f"{s3_env['STACK_S3_ENDPOINT']}/{s3_env['STACK_S3_BUCKET']}/"
    assert img_src == f"img-src 'self' data: {base}"
    assert "style-src 'self'; " in csp  # inline styles only on the replay player


def dashboard_settings(**env: str) -> DashboardSettings:
    return DashboardSettings(session_secret="s" * 32, **env)  # type: ignore[arg-type]


def test_csp_image_source_follows_the_settings() -> None:
    none = image_source(dashboard_settings())
    assert none == ""
    assert b"img-src 'self' data:;" in content_security_policy(none)
    public = dashboard_settings(
        STACK_S3_PUBLIC_ENDPOINT="https://files.example.com/pub/",
        STACK_S3_ENDPOINT="http://seaweedfs:8333",
        STACK_S3_BUCKET="b",
    )
    assert image_source(public) == "https://files.example.com/pub/"
    fallback = dashboard_settings(STACK_S3_ENDPOINT="http://127.0.0.1:8333", STACK_S3_BUCKET="b")
    assert image_source(fallback) == "http://127.0.0.1:8333/b/"
    for hostile in ("https://x.example; script-src *", "javascript:alert(1)", "https://a b/"):
        with pytest.raises(ValueError, match="plain"):
            image_source(dashboard_settings(STACK_S3_PUBLIC_ENDPOINT=hostile))
