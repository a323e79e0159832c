"""User and team API keys in the contract's format (§5.4)."""

from __future__ import annotations

import uuid
import zlib

from authstack_core.crypto.api_keys import MARKER, new_api_key, parse_api_key


def test_secret_key_layout() -> None:
    key_id = uuid.uuid4()
    key = new_api_key(key_id, "user", is_public=False)
    assert key.startswith("sk_")
    body, crc = key[:-8], key[-8:]
    assert crc == f"{zlib.crc32(body.encode()) & 0xFFFFFFFF:08x}"
    secret, rest = body[3:48], body[48:]
    assert len(secret) == 45
    assert rest == f"{key_id.hex}user1{MARKER}"  # flag 1: self-hosted, not public


def test_public_team_key_has_flag_three_and_pk_prefix() -> None:
    key_id = uuid.uuid4()
    key = new_api_key(key_id, "team", is_public=True)
    assert key.startswith("pk_")
    assert key[:-8].endswith(f"{key_id.hex}team3{MARKER}")


def test_parse_round_trips_and_rejects_tampering() -> None:
    key_id = uuid.uuid4()
    key = new_api_key(key_id, "team", is_public=False)
    parsed = parse_api_key(key)
    assert parsed is not None
    assert (parsed.id, parsed.type, parsed.is_public) == (key_id, "team", False)
    flipped = key[:10] + ("a" if key[10] != "a" else "b") + key[11:]
    assert parse_api_key(flipped) is None  # checksum no longer matches
    assert parse_api_key(key.upper()) is None
    assert parse_api_key("sk_" + "0" * 10) is None
    assert parse_api_key("") is None


def test_two_keys_for_the_same_id_differ() -> None:
    key_id = uuid.uuid4()
    assert new_api_key(key_id, "user", is_public=False) != new_api_key(
        key_id, "user", is_public=False
    )
