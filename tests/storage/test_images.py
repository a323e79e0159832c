"""Image fields against the real S3 server: upload, serve, replace, delete, link, sweep."""

from __future__ import annotations

import io
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.api.helpers import admin_headers, create_user
from tests.api.test_admin_projects import create_owned_project
from tests.conftest import CRON_SECRET, Project
from tests.factories import INTERNAL_TEAM_ID
from tests.storage.image_helpers import (
    GPS_IFD,
    ME,
    data_url,
    fetch,
    image_bytes,
    opened,
    photo_with_gps,
    signed_up,
    stored_keys,
)

USERS = "/api/v1/users"
TEAMS = "/api/v1/teams"


def test_client_upload_is_served_as_a_jpeg_without_exif_or_gps(
    http: httpx.Client, project: Project, seaweedfs: Any
) -> None:
    headers, _ = signed_up(http, project)
    sent = photo_with_gps()
    assert opened(sent).getexif().get_ifd(GPS_IFD)  # the input does carry GPS
    r = http.patch(ME, headers=headers, json={"profile_image_url": data_url(sent, "image/jpeg")})
    assert r.status_code == 200, r.text
    url = r.json()["profile_image_url"]
    assert url.startswith(f"{seaweedfs.endpoint}/{seaweedfs.bucket}/images/{project.id}/")
    assert url.endswith(".jpg")
    served = fetch(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = opened(served.content)
    assert (image.format, image.size) == ("JPEG", (24, 16))
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    assert not image.getexif()
    assert not image.getexif().get_ifd(GPS_IFD)
    assert b"SecretCam" not in served.content
    assert b"private-icc" not in served.content


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_keep_their_type(
    http: httpx.Client, project: Project, fmt: str, content_type: str
) -> None:
    headers, _ = signed_up(http, project)
    # declared as JPEG: the stored type is the one the bytes decode as
    body = {"profile_image_url": data_url(image_bytes(fmt), "image/jpeg")}
    url = http.patch(ME, headers=headers, json=body).json()["profile_image_url"]
    served = fetch(url)
    assert served.headers["content-type"] == content_type
    assert opened(served.content).format == fmt


def test_replacing_and_clearing_delete_the_old_object(
    http: httpx.Client, project: Project, seaweedfs: Any
) -> None:
    headers, _ = signed_up(http, project)
    first = http.patch(ME, headers=headers, json={"profile_image_url": data_url(image_bytes())})
    second = http.patch(
        ME, headers=headers, json={"profile_image_url": data_url(image_bytes("JPEG"))}
    )
    old, new = first.json()["profile_image_url"], second.json()["profile_image_url"]
    assert old != new
    assert fetch(old).status_code == 404
    assert fetch(new).status_code == 200
    cleared = http.patch(ME, headers=headers, json={"profile_image_url": None})
    assert cleared.json()["profile_image_url"] is None
    assert fetch(new).status_code == 404
    assert stored_keys(seaweedfs, project.id) == []


def test_deleting_a_user_deletes_its_image(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project, profile_image_url=data_url(image_bytes()))
    url = user["profile_image_url"]
    assert fetch(url).status_code == 200
    r = http.delete(f"{USERS}/{user['id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    assert fetch(url).status_code == 404


def test_server_links_an_https_image_as_is_and_nothing_else(
    http: httpx.Client, project: Project
) -> None:
    link = "https://cdn.example.com/avatars/1.png?v=2"
    user = create_user(http, project, profile_image_url=link)
    assert user["profile_image_url"] == link
    server = project.headers("server")
    for refused in ("http://cdn.example.com/a.png", "ftp://cdn.example.com/a.png"):
        r = http.patch(f"{USERS}/{user['id']}", headers=server, json={"profile_image_url": refused})
        assert r.status_code == 400, (refused, r.text)
        assert r.text.startswith("Invalid image: a linked image must be an https:// URL"), r.text
    r = http.patch(
        f"{USERS}/{user['id']}", headers=server, json={"profile_image_url": "javascript:alert(1)"}
    )
    assert r.status_code == 400
    assert http.get(f"{USERS}/{user['id']}", headers=server).json()["profile_image_url"] == link


def test_a_copied_url_keeps_its_object_when_the_original_goes(
    http: httpx.Client, project: Project
) -> None:
    """A server may put one of the project's stored URLs in another field; that field keeps it."""
    owner = create_user(http, project, profile_image_url=data_url(image_bytes()))
    url = owner["profile_image_url"]
    copy = create_user(http, project, profile_image_url=url)
    assert copy["profile_image_url"] == url
    http.delete(f"{USERS}/{owner['id']}", headers=project.headers("server"))
    assert fetch(url).status_code == 200
    http.delete(f"{USERS}/{copy['id']}", headers=project.headers("server"))
    assert fetch(url).status_code == 404


def test_team_and_member_profile_images_are_stored_and_dropped(
    http: httpx.Client, make_project: Any
) -> None:
    project = make_project({"teams.allowClientTeamCreation": True})
    headers, user_id = signed_up(http, project)
    r = http.post(
        TEAMS,
        headers=headers,
        json={
            "display_name": "T",
            "creator_user_id": "me",
            "profile_image_url": data_url(image_bytes()),
        },
    )
    assert r.status_code == 201, r.text
    team = r.json()
    team_image = team["profile_image_url"]
    assert fetch(team_image).headers["content-type"] == "image/png"
    profile = f"/api/v1/team-member-profiles/{team['id']}/{user_id}"
    r = http.patch(profile, headers=headers, json={"profile_image_url": data_url(image_bytes())})
    assert r.status_code == 200, r.text
    member_image = r.json()["profile_image_url"]
    assert fetch(member_image).status_code == 200
    r = http.patch(
        f"{TEAMS}/{team['id']}",
        headers=headers,
        json={"profile_image_url": data_url(image_bytes("WEBP"))},
    )
    assert r.status_code == 200, r.text
    assert fetch(team_image).status_code == 404
    new_team_image = r.json()["profile_image_url"]
    r = http.delete(f"{TEAMS}/{team['id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    assert fetch(new_team_image).status_code == 404
    assert fetch(member_image).status_code == 404


def test_project_logo_data_url_is_stored_and_replaced(
    http: httpx.Client, internal: Project, admin_access_token: str
) -> None:
    created = create_owned_project(
        http, internal, admin_access_token, INTERNAL_TEAM_ID, logo_url=data_url(image_bytes())
    )
    logo = created["logo_url"]
    assert f"/images/{created['id']}/" in logo
    assert fetch(logo).headers["content-type"] == "image/png"
    admin = admin_headers(created["id"], admin_access_token)
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={"logo_url": "https://cdn.example.com/logo.png"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["logo_url"] == "https://cdn.example.com/logo.png"
    assert fetch(logo).status_code == 404


def test_cron_step_sweeps_uploads_no_row_took(
    http: httpx.Client, project: Project, seaweedfs: Any, migrated_database: str
) -> None:
    """An upload recorded an hour ago and never attached (its request died) is deleted; an
    old record of an image a row does hold only loses its record."""
    orphan = f"images/{project.id}/orphan-from-a-crash.png"
    seaweedfs.client().put_object(Bucket=seaweedfs.bucket, Key=orphan, Body=image_bytes())
    kept = create_user(http, project, profile_image_url=data_url(image_bytes()))[
        "profile_image_url"
    ]
    kept_key = kept.split(f"/{seaweedfs.bucket}/", 1)[1]
    with psycopg.connect(migrated_database, autocommit=True) as conn:
        for key in (orphan, kept_key):
            conn.execute(
                "INSERT INTO unattached_objects (key, project_id, created_at)"
                " VALUES (%s, %s, now() - interval '2 hours')",
                (key, project.id),
            )
    r = http.get(
        "/api/latest/internal/email-queue-step",
        headers={"Authorization": f"Bearer {CRON_SECRET}"},
    )
    assert r.status_code == 200, r.text
    assert stored_keys(seaweedfs, project.id) == [kept_key]
    with psycopg.connect(migrated_database) as conn:
        left = conn.execute(
            "SELECT count(*) FROM unattached_objects WHERE project_id = %s", (project.id,)
        ).fetchone()
    assert left == (0,)


def test_the_stored_png_has_no_text_chunks(http: httpx.Client, project: Project) -> None:
    chunks = PngInfo()
    chunks.add_text("Comment", "secret-note")
    chunks.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-xmp</x:xmpmeta>")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=chunks)
    headers, _ = signed_up(http, project)
    r = http.patch(ME, headers=headers, json={"profile_image_url": data_url(out.getvalue())})
    served = fetch(r.json()["profile_image_url"]).content
    assert b"secret-note" not in served
    assert b"secret-xmp" not in served
    assert opened(served).info.get("Comment") is None
