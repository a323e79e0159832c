"""Hostile and broken uploads: each refused with a readable 400, nothing stored, nothing changed;
and storage that is down or missing: a 503, the old value kept, other requests unaffected."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import ApiServer, Project, free_port, running_api
from tests.storage.image_helpers import (
    ME,
    data_url,
    fetch,
    image_bytes,
    png_claiming,
    signed_up,
    stored_keys,
)

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
NOISE = io.BytesIO()
Image.effect_noise((64, 64), 60).save(NOISE, "PNG")
TRUNCATED = NOISE.getvalue()[: len(NOISE.getvalue()) // 2]  # cut inside the pixel data
OVER_1_MB = image_bytes() + b"\0" * (1_048_600 - len(image_bytes()))

REFUSED = [
    ("svg with a script", data_url(SVG, "image/svg+xml"), "Invalid image: SVG images are not"),
    ("svg declared as png", data_url(SVG), "Invalid image: it is not a JPEG, PNG or WebP image."),
    ("html declared as png", data_url(HTML), "Invalid image: it is not a JPEG, PNG or WebP image."),
    ("html data url", data_url(HTML, "text/html"), "Invalid profile image URL"),
    ("decompression bomb", data_url(png_claiming(100_000, 100_000)), "Invalid image: the image"),
    ("over 4096 px", data_url(image_bytes(size=(4097, 1))), "Invalid image: the image is 4097 x 1"),
    ("over 1 MB", data_url(OVER_1_MB), "Invalid image: the image is larger than 1 MB."),
    ("bad base64", "data:image/png;base64,iVBOR*w0KGgo=", "Invalid image: the data URL's base64"),
    (
        "unpadded base64",
        "data:image/png;base64,iVBORw0KGgo",
        "Invalid image: the data URL's base64",
    ),
    ("not base64", "data:image/png,%89PNG", "Invalid image: it must be a base64 data URL"),
    ("truncated png", data_url(TRUNCATED), "Invalid image: the image could not be"),
    ("remote url", "https://evil.example/x.png", "Invalid profile image URL"),
    ("metadata address", "http://169.254.169.254/latest/meta-data", "Invalid profile image URL"),
]


@pytest.mark.parametrize(("value", "text"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_client_upload_is_refused(
    http: httpx.Client, project: Project, seaweedfs: Any, value: str, text: str
) -> None:
    headers, _ = signed_up(http, project)
    before = http.get(ME, headers=headers).json()
    r = http.patch(ME, headers=headers, json={"profile_image_url": value, "display_name": "New"})
    assert r.status_code == 400, r.text
    assert r.text.startswith(text), r.text
    assert http.get(ME, headers=headers).json() == before
    assert stored_keys(seaweedfs, project.id) == []


@pytest.mark.parametrize("where", ["team", "member profile"])
def test_a_client_cannot_link_a_remote_team_or_member_image(
    http: httpx.Client, make_project: Any, where: str
) -> None:
    project = make_project({"teams.allowClientTeamCreation": True})
    headers, user_id = signed_up(http, project)
    team = http.post(
        "/api/v1/teams", headers=headers, json={"display_name": "T", "creator_user_id": "me"}
    ).json()
    path = (
        f"/api/v1/teams/{team['id']}"
        if where == "team"
        else f"/api/v1/team-member-profiles/{team['id']}/{user_id}"
    )
    for link in ("https://evil.example/x.png", "http://169.254.169.254/latest/meta-data"):
        r = http.patch(path, headers=headers, json={"profile_image_url": link})
        assert (r.status_code, r.text) == (400, "Invalid profile image URL")


def test_polyglot_png_is_stored_without_its_trailing_script(
    http: httpx.Client, project: Project
) -> None:
    polyglot = image_bytes() + b"<script>alert(document.domain)</script>"
    headers, _ = signed_up(http, project)
    r = http.patch(ME, headers=headers, json={"profile_image_url": data_url(polyglot)})
    assert r.status_code == 200, r.text
    stored = fetch(r.json()["profile_image_url"]).content
    assert b"<script" not in stored
    assert stored.endswith(b"IEND\xaeB`\x82")  # nothing after the PNG's last chunk


@pytest.fixture(scope="module", params=["closed port", "not configured"])
def storage_down_api(
    request: pytest.FixtureRequest, migrated_database: str, s3_env: dict[str, str]
) -> Iterator[ApiServer]:
    env = {}
    if request.param == "closed port":  # configured, but nothing listens there
        env = {**s3_env, "STACK_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    with running_api(migrated_database, **env) as server:
        yield server


def test_storage_down_answers_503_and_keeps_the_old_image(
    storage_down_api: ApiServer, project: Project
) -> None:
    link = "https://cdn.example.com/old.png"
    with storage_down_api.client() as http:
        headers, user_id = signed_up(http, project)
        server = project.headers("server")
        r = http.patch(f"/api/v1/users/{user_id}", headers=server, json={"profile_image_url": link})
        assert r.status_code == 200, r.text  # a link needs no storage
        body = {"profile_image_url": data_url(image_bytes()), "display_name": "Changed"}
        r = http.patch(ME, headers=headers, json=body)
        assert r.status_code == 503, r.text
        assert r.text.startswith("Image storage is unavailable, so the image was not saved")
        me = http.get(ME, headers=headers)
        assert me.status_code == 200
        assert (me.json()["profile_image_url"], me.json()["display_name"]) == (link, None)
        other = http.patch(ME, headers=headers, json={"display_name": "Fine"})
        assert other.status_code == 200, other.text
        assert other.json()["profile_image_url"] == link


def test_bad_base64_is_refused_before_storage_is_asked(
    storage_down_api: ApiServer, project: Project
) -> None:
    """A refused image is a 400 even while storage is down: the check comes first."""
    with storage_down_api.client() as http:
        headers, _ = signed_up(http, project)
        bad = "data:image/png;base64," + base64.b64encode(b"not an image").decode()
        r = http.patch(ME, headers=headers, json={"profile_image_url": bad})
        assert r.status_code == 400, r.text
