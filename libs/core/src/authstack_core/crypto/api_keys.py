"""User and team API keys in the contract's format (§5.4), built so secret scanners can spot them.

``<pk|sk>_<45 random chars><id as 32 hex><user|team><flag>574ck4u7h<crc32 as 8 hex>``, where the
flag is one Crockford base32 character worth (self-hosted ? 1 : 0) + (public ? 2 : 0).
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass
from typing import Literal

from authstack_core.crypto.codes import CROCKFORD, random_code

ApiKeyType = Literal["user", "team"]
MARKER = "574ck4u7h"
_FORMAT = re.compile(
    r"^(?P<body>(?P<prefix>pk|sk)_[0-9a-z]{45}(?P<id>[0-9a-f]{32})(?P<type>user|team)"
    r"(?P<flag>[0-9a-z])" + MARKER + r")(?P<crc>[0-9a-f]{8})$"
)
# This server is always a self-hosted one: the "hosted by Stack" bit is never set.
_SELF_HOSTED = 1
_PUBLIC = 2


def _crc(text: str) -> str:
    return f"{zlib.crc32(text.encode('ascii')) & 0xFFFFFFFF:08x}"


def new_api_key(key_id: uuid.UUID, key_type: ApiKeyType, *, is_public: bool) -> str:
    """A fresh key for ``key_id``; only its hash is ever stored."""
    flag = CROCKFORD[_SELF_HOSTED + (_PUBLIC if is_public else 0)]
    body = f"{'pk' if is_public else 'sk'}_{random_code(45)}{key_id.hex}{key_type}{flag}{MARKER}"
    return body + _crc(body)


@dataclass(frozen=True, slots=True)
class ParsedApiKey:
    id: uuid.UUID
    type: ApiKeyType
    is_public: bool


def parse_api_key(value: str) -> ParsedApiKey | None:
    """What a well-formed key names (id, type, visibility); None if format or checksum is off."""
    match = _FORMAT.match(value)
    if match is None or _crc(match["body"]) != match["crc"]:
        return None
    key_type: ApiKeyType = "user" if match["type"] == "user" else "team"
    return ParsedApiKey(uuid.UUID(hex=match["id"]), key_type, match["prefix"] == "pk")
