"""Password hashing: bcrypt cost 10, constant work for unknown users, long multibyte passwords."""

from __future__ import annotations

import bcrypt
import pytest

from authstack_core.crypto.passwords import (
    PasswordHasher,
    hash_password_sync,
    is_bcrypt_hash,
)

MULTIBYTE_70 = ("пароль-" * 10)[:70]  # 70 characters, 130 bytes in UTF-8


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(concurrency=2)


async def test_hash_then_verify(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct-horse-1")
    assert hashed.startswith("$2b$10$")
    assert is_bcrypt_hash(hashed)
    assert await hasher.verify("correct-horse-1", hashed) is True
    assert await hasher.verify("correct-horse-2", hashed) is False


async def test_verify_without_a_hash_is_false(hasher: PasswordHasher) -> None:
    """No account: compare against the dummy hash and say no, even to the dummy's password."""
    assert await hasher.verify("anything-at-all", None) is False
    assert await hasher.verify("authstack-dummy-password", None) is False


async def test_corrupt_stored_hash_is_false_not_an_error(hasher: PasswordHasher) -> None:
    assert await hasher.verify("whatever-1", "$2b$10$not-a-real-hash") is False


async def test_seventy_character_multibyte_password(hasher: PasswordHasher) -> None:
    assert len(MULTIBYTE_70) == 70
    assert len(MULTIBYTE_70.encode()) > 72
    hashed = await hasher.hash(MULTIBYTE_70)
    assert await hasher.verify(MULTIBYTE_70, hashed) is True
    assert await hasher.verify("x" + MULTIBYTE_70[1:], hashed) is False


async def test_hashes_from_other_implementations_verify(hasher: PasswordHasher) -> None:
    b2a = bcrypt.hashpw(b"imported-1", bcrypt.gensalt(10, prefix=b"2a")).decode()
    b2y = "$2y$" + bcrypt.hashpw(b"imported-1", bcrypt.gensalt(10)).decode()[4:]
    for hashed in (b2a, b2y, hash_password_sync("imported-1")):
        assert is_bcrypt_hash(hashed)
        assert await hasher.verify("imported-1", hashed) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plaintext",
        "$2b$10$short",
        "$2x$10$" + "a" * 53,
        "$2b$03$" + "a" * 53,
        "$2b$32$" + "a" * 53,
        "$2b$10$" + "a" * 52 + "!",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    ],
)
def test_non_bcrypt_strings_are_not_bcrypt_hashes(value: str) -> None:
    assert is_bcrypt_hash(value) is False
