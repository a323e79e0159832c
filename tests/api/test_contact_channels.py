"""Contact channels (contract §1.4, §5.4): CRUD, sign-in uniqueness, primary switching."""

from __future__ import annotations

import httpx

from tests.api.helpers import (
    PASSWORD,
    assert_known_error,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.api.team_helpers import new_user
from tests.conftest import Project

CHANNELS = "/api/v1/contact-channels"
KEYS = {"user_id", "id", "value", "type", "used_for_auth", "is_verified", "is_primary"}


def _create(http: httpx.Client, headers: dict[str, str], **body: object) -> httpx.Response:
    return http.post(CHANNELS, headers=headers, json={"type": "email", **body})


def test_a_user_starts_with_its_primary_email_channel(http: httpx.Client, project: Project) -> None:
    user = new_user(http, project)
    r = http.get(CHANNELS, headers=user.client(project), params={"user_id": "me"})
    assert r.status_code == 200, r.text
    [channel] = r.json()["items"]
    assert set(channel) == KEYS
    assert channel["value"] == user.email
    flags = (channel["is_primary"], channel["is_verified"], channel["used_for_auth"])
    assert flags == (True, True, True)


def test_client_creates_reads_updates_and_deletes_its_own_channel(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    email = unique_email("second")
    r = _create(http, user.client(project), user_id="me", value=email, used_for_auth=False)
    assert r.status_code == 201, r.text
    channel = r.json()
    assert channel["user_id"] == user.id
    assert (channel["is_primary"], channel["is_verified"], channel["used_for_auth"]) == (
        False,
        False,
        False,
    )
    one = f"{CHANNELS}/me/{channel['id']}"
    assert http.get(one, headers=user.client(project)).json() == channel
    verified_by_client = http.patch(one, headers=user.client(project), json={"is_verified": True})
    assert verified_by_client.status_code == 400
    updated = http.patch(one, headers=user.client(project), json={"used_for_auth": True})
    assert updated.json()["used_for_auth"] is True
    assert http.delete(one, headers=user.client(project)).json() == {"success": True}
    gone = http.get(one, headers=user.client(project))
    assert gone.status_code == 404
    assert http.delete(one, headers=user.client(project)).status_code == 400


def test_client_cannot_touch_another_users_channels(http: httpx.Client, project: Project) -> None:
    user, other = new_user(http, project), new_user(http, project)
    theirs = http.get(CHANNELS, headers=project.headers("server"), params={"user_id": other.id})
    channel_id = theirs.json()["items"][0]["id"]
    one = f"{CHANNELS}/{other.id}/{channel_id}"
    assert http.get(one, headers=user.client(project)).status_code == 403
    assert (
        http.patch(one, headers=user.client(project), json={"is_primary": False}).status_code == 403
    )
    assert http.delete(one, headers=user.client(project)).status_code == 403
    create = _create(
        http, user.client(project), user_id=other.id, value=unique_email(), used_for_auth=False
    )
    assert create.status_code == 403
    assert (
        http.get(CHANNELS, headers=user.client(project), params={"user_id": other.id}).status_code
        == 403
    )
    assert http.get(CHANNELS, headers=user.client(project)).status_code == 403
    still = http.get(CHANNELS, headers=project.headers("server"), params={"user_id": other.id})
    assert still.json() == theirs.json()


def test_a_value_used_for_sign_in_by_someone_else_cannot_be_used_for_sign_in(
    http: httpx.Client, project: Project
) -> None:
    owner = sign_up(http, project, email := unique_email("owner"))
    user = new_user(http, project)
    r = _create(http, user.client(project), user_id="me", value=email.upper(), used_for_auth=True)
    assert_known_error(
        r,
        "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE",
        409,
        {
            "type": "email",
            "contact_channel_value": email.upper(),
            "would_work_if_email_was_verified": False,
        },
    )
    # Not for sign-in it is fine, but switching it to sign-in later is refused too.
    plain = _create(http, user.client(project), user_id="me", value=email, used_for_auth=False)
    assert plain.status_code == 201, plain.text
    switch = http.patch(
        f"{CHANNELS}/me/{plain.json()['id']}",
        headers=user.client(project),
        json={"used_for_auth": True},
    )
    assert_known_error(switch, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE", 409)
    # The owner still signs in with it.
    sign_in = sign_in_with_password(http, project, email, PASSWORD)
    assert sign_in.json()["user_id"] == owner["user_id"]


def test_the_same_value_twice_for_one_user_is_refused(http: httpx.Client, project: Project) -> None:
    user = new_user(http, project)
    assert user.email is not None
    r = _create(http, user.client(project), user_id="me", value=user.email, used_for_auth=False)
    assert r.status_code == 400


def test_making_a_channel_primary_demotes_the_old_one_and_changes_the_users_email(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    second = unique_email("new-primary")
    created = _create(
        http,
        project.headers("server"),
        user_id=user.id,
        value=second,
        used_for_auth=True,
        is_verified=True,
        is_primary=True,
    )
    assert created.status_code == 201, created.text
    assert created.json()["is_primary"] is True
    listed = http.get(CHANNELS, headers=user.client(project), params={"user_id": "me"}).json()
    assert [c["value"] for c in listed["items"] if c["is_primary"]] == [second]
    me = http.get("/api/v1/users/me", headers=user.client(project)).json()
    assert me["primary_email"] == second
    assert me["primary_email_verified"] is True
    old = next(c for c in listed["items"] if c["value"] == user.email)
    back = http.patch(
        f"{CHANNELS}/{user.id}/{old['id']}",
        headers=project.headers("server"),
        json={"is_primary": True},
    )
    assert back.json()["is_primary"] is True
    me = http.get("/api/v1/users/me", headers=user.client(project)).json()
    assert me["primary_email"] == user.email


def test_changing_the_value_unverifies_unless_the_server_says_otherwise(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    channel = http.get(CHANNELS, headers=user.client(project), params={"user_id": "me"}).json()[
        "items"
    ][0]
    one = f"{CHANNELS}/me/{channel['id']}"
    changed = http.patch(one, headers=user.client(project), json={"value": unique_email("moved")})
    assert changed.json()["is_verified"] is False
    server_one = f"{CHANNELS}/{user.id}/{channel['id']}"
    kept = http.patch(
        server_one,
        headers=project.headers("server"),
        json={"value": unique_email("moved2"), "is_verified": True},
    )
    assert kept.json()["is_verified"] is True


def test_bad_input_gets_schema_errors(http: httpx.Client, project: Project) -> None:
    user = new_user(http, project)
    for body in (
        {"user_id": "me", "value": "not-an-email", "used_for_auth": False},
        {"user_id": "me", "value": unique_email(), "used_for_auth": False, "type": "phone"},
        {"user_id": "me", "value": unique_email()},
        {"user_id": "me", "value": unique_email(), "used_for_auth": False, "extra": 1},
    ):
        r = http.post(CHANNELS, headers=user.client(project), json={"type": "email", **body})
        assert_known_error(r, "SCHEMA_ERROR", 400)
    r = http.get(CHANNELS, headers=project.headers("server"), params={"user_id": "bad"})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    missing = _create(
        http,
        project.headers("server"),
        user_id="00000000-0000-4000-8000-000000000000",
        value=unique_email(),
        used_for_auth=False,
    )
    assert_known_error(missing, "USER_NOT_FOUND", 404)
