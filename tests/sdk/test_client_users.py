"""The SDK's user methods against the real API, in both faces."""

from __future__ import annotations

import pytest

from authstack_sdk import Page, errors
from authstack_sdk.models import User
from tests.sdk.client_support import Face, unique_email


async def test_create_get_update_and_delete_a_user(face: Face) -> None:
    email = unique_email()
    user = await face.call(
        "create_user",
        primary_email=email,
        primary_email_auth_enabled=True,
        password="a-long-enough-password",
        display_name="Ada",
        server_metadata={"plan": "pro"},
    )
    assert isinstance(user, User)
    assert (user.primary_email, user.display_name, user.has_password) == (email, "Ada", True)
    assert user.server_metadata == {"plan": "pro"}
    assert user.raw["risk_scores"]["sign_up"] == {"bot": 0, "free_trial_abuse": 0}

    fetched = await face.call("get_user", user.id)
    assert fetched is not None
    assert fetched.id == user.id
    assert fetched.primary_email == email

    updated = await face.call(
        "update_user", user.id, display_name="Ada Lovelace", client_metadata={"theme": "dark"}
    )
    assert updated.display_name == "Ada Lovelace"
    assert updated.client_metadata == {"theme": "dark"}
    assert updated.server_metadata == {"plan": "pro"}  # untouched: only passed fields are sent

    cleared = await face.call("update_user", user.id, display_name=None)
    assert cleared.display_name is None

    assert await face.call("delete_user", user.id) is None
    assert await face.call("get_user", user.id) is None


async def test_unknown_user_reads_as_none_but_deleting_it_raises(face: Face) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert await face.call("get_user", missing) is None
    with pytest.raises(errors.UserNotFound) as caught:
        await face.call("delete_user", missing)
    assert caught.value.status == 404
    assert caught.value.code == "USER_NOT_FOUND"


async def test_duplicate_sign_in_email_raises_with_its_details(face: Face) -> None:
    email = unique_email("dup")
    await face.call("create_user", primary_email=email, primary_email_auth_enabled=True)
    with pytest.raises(errors.UserEmailAlreadyExists) as caught:
        await face.call("create_user", primary_email=email, primary_email_auth_enabled=True)
    assert caught.value.status == 409
    assert caught.value.details["email"] == email
    assert "would_work_if_email_was_verified" in caught.value.details


async def test_invalid_fields_raise_schema_error(face: Face) -> None:
    with pytest.raises(errors.SchemaError) as caught:
        await face.call("create_user", primary_email="not an email")
    assert caught.value.status == 400
    assert caught.value.details["message"]


async def test_iterating_users_walks_every_page_once(face: Face) -> None:
    created = [
        (await face.call("create_user", primary_email=unique_email(f"page{i}"))).id
        for i in range(7)
    ]
    first = await face.call("list_users", limit=3)
    assert isinstance(first, Page)
    assert [u.id for u in first.items] == created[:3]
    assert first.next_cursor == created[3]

    pages, cursor, seen = 0, None, []
    while True:
        page = await face.call("list_users", limit=3, cursor=cursor)
        pages += 1
        seen += [u.id for u in page]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert (pages, seen) == (3, created)

    walked = await face.collect(face.app.iter_users(page_size=2))
    assert [u.id for u in walked] == created
    newest_first = await face.collect(face.app.iter_users(page_size=4, desc=True))
    assert [u.id for u in newest_first] == created[::-1]


async def test_search_and_team_filter(face: Face) -> None:
    needle = unique_email("needle")
    target = await face.call("create_user", primary_email=needle, display_name="Grace Hopper")
    other = await face.call("create_user", primary_email=unique_email("hay"))
    found = await face.call("search_users", needle.split("@")[0].upper())
    assert [u.id for u in found] == [target.id]
    by_name = await face.call("list_users", query="grace hop")
    assert [u.id for u in by_name] == [target.id]

    team = await face.call("create_team", "Filtered")
    await face.call("add_team_member", team.id, other.id)
    members = await face.collect(face.app.iter_users(team_id=team.id))
    assert [u.id for u in members] == [other.id]
