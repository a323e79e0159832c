"""Password hashing: the pre-hashed bcrypt format, old and imported formats, bounds, upgrades."""

from __future__ import annotations

import base64
import hashlib
import time

import argon2
import bcrypt
import pytest
from passlib.hash import bcrypt_sha256 as passlib_bcrypt_sha256
from passlib.hash import pbkdf2_sha256 as passlib_pbkdf2
from passlib.hash import scrypt as passlib_scrypt
from werkzeug.security import generate_password_hash

from authstack_core.common_passwords import common_passwords, is_common_password
from authstack_core.crypto.passwords import (
    PasswordHasher,
    hash_password_sync,
    is_bcrypt_hash,
    is_importable_hash,
    needs_rehash,
    verify_password_sync,
)

MULTIBYTE_70 = ("пароль-" * 10)[:70]  # 70 characters, 130 bytes in UTF-8
E36 = "é" * 36  # 36 characters, exactly bcrypt's 72 bytes
PASSWORD = "imported-Passw0rd-é"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(concurrency=2)


async def test_new_hashes_are_pre_hashed_bcrypt_cost_10(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct-horse-1")
    assert hashed.startswith("$bcrypt-sha256$v=2,t=2b,r=10$")
    assert await hasher.verify("correct-horse-1", hashed) is True
    assert await hasher.verify("correct-horse-2", hashed) is False
    assert needs_rehash("correct-horse-1", hashed) is False


def test_the_format_is_passlibs_bcrypt_sha256_both_ways() -> None:
    """Another implementation of the documented format agrees with ours, in both directions."""
    ours = hash_password_sync(PASSWORD)
    assert passlib_bcrypt_sha256.verify(PASSWORD, ours) is True
    assert passlib_bcrypt_sha256.verify(PASSWORD + "x", ours) is False
    theirs = passlib_bcrypt_sha256.using(rounds=10).hash(PASSWORD)
    assert verify_password_sync(PASSWORD, theirs) is True
    assert verify_password_sync(PASSWORD + "x", theirs) is False


async def test_every_byte_counts_beyond_bcrypts_72(hasher: PasswordHasher) -> None:
    long_password = E36 + "SUFFIX1"
    assert len(E36.encode()) == 72
    hashed = await hasher.hash(long_password)
    assert await hasher.verify(long_password, hashed) is True
    assert await hasher.verify(E36, hashed) is False
    assert await hasher.verify(E36 + "SUFFIX2", hashed) is False


async def test_nul_bytes_in_the_digest_do_not_shorten_it(hasher: PasswordHasher) -> None:
    # Raw SHA-256 digests often contain NUL, where bcrypt would stop reading; base64 has none.
    for i in range(20):
        hashed = hash_password_sync(f"pw-{i}-abcdefgh")
        assert verify_password_sync(f"pw-{i}-abcdefgh", hashed)
        assert not verify_password_sync(f"pw-{i}-abcdefgX", hashed)


async def test_verify_without_a_hash_is_false(hasher: PasswordHasher) -> None:
    """No account: compare against the dummy hash and say no, even to the dummy's password."""
    assert await hasher.verify("anything-at-all", None) is False
    assert await hasher.verify("authstack-dummy-password", None) is False


async def test_unknown_account_costs_a_real_hash_check(hasher: PasswordHasher) -> None:
    """The dummy is a current-format hash: no account takes about as long as a wrong password."""
    stored = await hasher.hash("some-real-password")
    no_account, wrong = [], []
    for _ in range(3):
        t = time.perf_counter()
        await hasher.verify("guess-password", None)
        no_account.append(time.perf_counter() - t)
        t = time.perf_counter()
        await hasher.verify("guess-password", stored)
        wrong.append(time.perf_counter() - t)
    assert min(no_account) > 0.5 * min(wrong)
    assert min(no_account) > 0.01  # a bcrypt cost-10 check, not a shortcut


async def test_corrupt_stored_hash_is_false_not_an_error(hasher: PasswordHasher) -> None:
    assert await hasher.verify("whatever-1", "$2b$10$not-a-real-hash") is False
    assert await hasher.verify("whatever-1", "$bcrypt-sha256$v=2,t=2b,r=10$bad$bad") is False


async def test_seventy_character_multibyte_password(hasher: PasswordHasher) -> None:
    assert len(MULTIBYTE_70) == 70
    assert len(MULTIBYTE_70.encode()) > 72
    hashed = await hasher.hash(MULTIBYTE_70)
    assert await hasher.verify(MULTIBYTE_70, hashed) is True
    assert await hasher.verify("x" + MULTIBYTE_70[1:], hashed) is False
    assert await hasher.verify(MULTIBYTE_70[:-1] + "x", hashed) is False


async def test_plain_bcrypt_from_other_implementations_verifies(hasher: PasswordHasher) -> None:
    b2a = bcrypt.hashpw(b"imported-1", bcrypt.gensalt(10, prefix=b"2a")).decode()
    b2b = bcrypt.hashpw(b"imported-1", bcrypt.gensalt(12)).decode()
    b2y = "$2y$" + bcrypt.hashpw(b"imported-1", bcrypt.gensalt(10)).decode()[4:]
    for hashed in (b2a, b2b, b2y):
        assert is_bcrypt_hash(hashed)
        assert is_importable_hash(hashed)
        assert await hasher.verify("imported-1", hashed) is True
        assert await hasher.verify("imported-2", hashed) is False
        assert needs_rehash("imported-1", hashed) is True


def test_plain_bcrypt_of_a_long_password_is_not_upgraded() -> None:
    """bcrypt ignored what followed byte 72 when the hash was made; re-hashing what was typed
    now could lock the owner out of the password they chose, so such hashes are kept."""
    old = bcrypt.hashpw((E36 + "SUFFIX1").encode()[:72], bcrypt.gensalt(4)).decode()
    assert verify_password_sync(E36 + "SUFFIX1", old) is True
    assert verify_password_sync(E36, old) is True  # the old weakness, for old hashes only
    assert needs_rehash(E36, old) is False
    assert needs_rehash(E36 + "SUFFIX1", old) is False
    assert needs_rehash("short-enough-1", bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode())


def _django_pbkdf2(password: str, salt: str, iterations: int) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def _django_scrypt(password: str, salt: str, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    digest = hashlib.scrypt(
        password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=2**26, dklen=64
    )
    return f"scrypt${n}${salt}${r}${p}${base64.b64encode(digest).decode()}"


IMPORTED = {
    "argon2id (argon2-cffi)": lambda pw: argon2.PasswordHasher().hash(pw),
    "argon2id (small)": lambda pw: argon2.PasswordHasher(
        time_cost=1, memory_cost=8, parallelism=1
    ).hash(pw),
    "scrypt (passlib)": lambda pw: passlib_scrypt.using(rounds=14).hash(pw),
    "scrypt (Werkzeug)": lambda pw: generate_password_hash(pw, method="scrypt"),
    "scrypt (Django)": lambda pw: _django_scrypt(pw, "Wq3SzQb1xDmyV8rN"),
    "pbkdf2-sha256 (Django)": lambda pw: _django_pbkdf2(pw, "lC8tXg2fRkdwB1Aa", 100_000),
    "pbkdf2-sha256 (passlib)": passlib_pbkdf2.hash,
    "pbkdf2-sha256 (Werkzeug)": lambda pw: generate_password_hash(
        pw, method="pbkdf2:sha256:100000"
    ),
}


@pytest.mark.parametrize("name", list(IMPORTED))
async def test_imported_formats_verify_and_ask_for_an_upgrade(
    hasher: PasswordHasher, name: str
) -> None:
    hashed = IMPORTED[name](PASSWORD)
    assert is_importable_hash(hashed), hashed
    assert await hasher.verify(PASSWORD, hashed) is True
    assert await hasher.verify(PASSWORD + "!", hashed) is False
    assert await hasher.verify(PASSWORD[:-1], hashed) is False
    assert needs_rehash(PASSWORD, hashed) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plaintext",
        "$2b$10$short",
        "$2x$10$" + "a" * 53,
        "$2b$03$" + "a" * 53,
        "$2b$15$" + "a" * 53,  # cost above the bound: ~3 s per sign-in
        "$2b$10$" + "a" * 52 + "!",
        "$bcrypt-sha256$v=2,t=2b,r=10$" + "a" * 22 + "$" + "b" * 31,  # salt padding bits set
        "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # not argon2id
        "$argon2id$v=16$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=4194304,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 4 GiB
        "$argon2id$v=19$m=65536,t=100,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=262144,t=10,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # work bound
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",  # salt and hash too short
        "$scrypt$ln=24,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 2 GiB
        "$scrypt$ln=16,r=8,p=64$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "scrypt:1000:8:1$salt$" + "ab" * 32,  # N not a power of two
        "scrypt:32768:8:1$salt$" + "abc",
        "pbkdf2_sha256$99000000$salt$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=",
        "pbkdf2_sha256$0$salt$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=",
        "pbkdf2:sha256:10000000$salt$" + "ab" * 32,
        "pbkdf2:sha1:100000$salt$" + "ab" * 20,
        "md5$salt$" + "ab" * 16,
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n",
    ],
)
def test_malformed_or_unbounded_hashes_are_not_importable(value: str) -> None:
    assert is_importable_hash(value) is False
    assert verify_password_sync("anything", value) is False


def test_the_common_password_list_ships_with_the_package() -> None:
    words = common_passwords()
    assert 30_000 < len(words) < 100_000
    assert all(8 <= len(w) <= 70 and w == w.lower() for w in words)
    assert is_common_password("password")
    assert is_common_password("12345678")
    assert is_common_password("PassWord")  # compared case-insensitively
    assert not is_common_password("correct horse battery staple")
