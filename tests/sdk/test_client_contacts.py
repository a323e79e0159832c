"""The SDK's contact-channel and email methods against the real API, in both faces."""

from __future__ import annotations

import pytest

from authstack_sdk import errors
from authstack_sdk.models import ContactChannel
from tests.conftest import ApiServer
from tests.factories import Project, create_project
from tests.sdk.client_support import Face, make_app, unique_email


def _outbox(api: ApiServer, project: Project) -> list[dict[str, object]]:
    with api.client() as http:
        answer = http.get("/api/v1/emails/outbox", headers=project.headers("server"))
    answer.raise_for_status()
    return list(answer.json()["items"])


async def test_contact_channels_lifecycle(face: Face) -> None:
    email = unique_email("primary")
    user = await face.call("create_user", primary_email=email, primary_email_auth_enabled=True)
    [primary] = await face.call("list_contact_channels", user.id)
    assert isinstance(primary, ContactChannel)
    assert (primary.value, primary.is_primary, primary.used_for_auth) == (email, True, True)

    second = unique_email("second")
    channel = await face.call("create_contact_channel", user.id, second, is_verified=True)
    assert (channel.value, channel.is_verified, channel.used_for_auth) == (second, True, False)
    changed = await face.call(
        "update_contact_channel", user.id, channel.id, used_for_auth=True, is_verified=False
    )
    assert (changed.used_for_auth, changed.is_verified) == (True, False)
    listed = await face.call("list_contact_channels", user.id)
    assert {c.id for c in listed} == {primary.id, channel.id}

    await face.call("delete_contact_channel", user.id, channel.id)
    assert [c.id for c in await face.call("list_contact_channels", user.id)] == [primary.id]


async def test_an_address_another_user_signs_in_with_is_refused(face: Face) -> None:
    email = unique_email("taken")
    await face.call("create_user", primary_email=email, primary_email_auth_enabled=True)
    other = await face.call("create_user", primary_email=unique_email("other"))
    with pytest.raises(errors.ContactChannelAlreadyUsedForAuthBySomeoneElse) as caught:
        await face.call("create_contact_channel", other.id, email, used_for_auth=True)
    assert caught.value.details["contact_channel_value"] == email


async def test_send_verification_code_queues_an_email(
    face: Face, sdk_api: ApiServer, sdk_project: Project
) -> None:
    user = await face.call("create_user", primary_email=unique_email("verify"))
    [channel] = await face.call("list_contact_channels", user.id)
    await face.call(
        "send_verification_code", user.id, channel.id, callback_url="http://localhost:3000/v"
    )
    assert len(_outbox(sdk_api, sdk_project)) == 1
    with pytest.raises(errors.RedirectUrlNotWhitelisted):
        await face.call(
            "send_verification_code", user.id, channel.id, callback_url="https://evil.test/v"
        )


async def test_send_email_queues_one_per_user(
    face: Face, sdk_api: ApiServer, sdk_project: Project
) -> None:
    users = [await face.call("create_user", primary_email=unique_email("mail")) for _ in range(2)]
    sent = await face.call(
        "send_email", user_ids=[u.id for u in users], subject="Hi", html="<p>Hello</p>"
    )
    assert sorted(sent) == sorted(u.id for u in users)
    assert len(_outbox(sdk_api, sdk_project)) == 2


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_send_email_needs_the_projects_own_server(
    kind: str, sdk_api: ApiServer, migrated_database: str
) -> None:
    shared = create_project(migrated_database)
    async with Face(make_app(kind, sdk_api.url, shared)) as face:
        user = await face.call("create_user", primary_email=unique_email("shared"))
        with pytest.raises(errors.RequiresCustomEmailServer) as caught:
            await face.call("send_email", user_ids=[user.id], subject="Hi", html="<p>x</p>")
    assert caught.value.status == 400
