"""Password hashes: new ones, imported ones, and the upgrade of old ones at sign-in.

**New hashes** use passlib's well-known ``bcrypt_sha256`` (version 2) format::

    $bcrypt-sha256$v=2,t=2b,r=10$<22-char bcrypt salt>$<31-char bcrypt checksum>

that is bcrypt (cost 10) over ``base64(HMAC-SHA256(key=salt, password))``. Pre-hashing makes every
byte of the password count (bcrypt alone reads only the first 72 bytes, so 36 "é" followed by
anything would match 36 "é" alone); base64 keeps NUL bytes out of bcrypt's input, and keying the
HMAC with the salt means a leaked unsalted SHA-256 of a password cannot be tested against the hash
directly ("password shucking"). The stored value never leaves the server (no API response carries
it), so the prefix is ours to choose; passlib and its fork libpass verify it unchanged.

**Still verified** (and re-hashed into the format above after a successful sign-in):

- plain bcrypt, ``$2a$`` / ``$2b$`` / ``$2y$`` (the contract's ``password_hash`` format and what
  earlier versions stored); only the first 72 bytes count, as bcrypt always did;
- argon2id in the PHC string format ``$argon2id$v=19$m=…,t=…,p=…$salt$hash``;
- scrypt as passlib writes it (``$scrypt$ln=…,r=…,p=…$salt$hash``), as Werkzeug writes it
  (``scrypt:N:r:p$salt$hexhash``) and as Django writes it (``scrypt$N$salt$r$p$b64hash``);
- PBKDF2-HMAC-SHA256 as Django (``pbkdf2_sha256$iterations$salt$b64hash``), passlib
  (``$pbkdf2-sha256$iterations$salt$hash``) and Werkzeug (``pbkdf2:sha256:iterations$salt$hex``)
  write it.

Cost parameters are bounded (see the ``MAX_*`` constants) so that an imported hash cannot make a
sign-in take seconds of CPU or gigabytes of memory. Hashing and checking run in worker threads, at
most ``concurrency`` at a time, so a sign-in storm cannot starve other requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
import argon2.exceptions
import argon2.low_level
import bcrypt

BCRYPT_COST = 10
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 70
BCRYPT_MAX_BYTES = 72

# Upper bounds for imported hashes: well above every library's current default, well below what
# would let one sign-in hold a core for seconds or take hundreds of megabytes.
MAX_BCRYPT_COST = 14  # about 1.5 s; libraries default to 10-12
MAX_ARGON2_MEMORY_KIB = 262_144  # 256 MiB; argon2-cffi defaults to 64 MiB, OWASP suggests 19-46
MAX_ARGON2_TIME_COST = 10
MAX_ARGON2_WORK_KIB = 1_048_576  # memory x passes: 64 MiB x 16 or 256 MiB x 4
MAX_PARALLELISM = 16
MAX_SCRYPT_MEMORY_BYTES = 256 * 1024 * 1024  # 128 * r * N; passlib defaults to 64 MiB
MAX_SCRYPT_WORK = 1 << 24  # N * r * p; passlib defaults to 2**19
MAX_SCRYPT_R = 32
MAX_PBKDF2_ITERATIONS = 3_000_000  # Django 6.0 defaults to 1,200,000
MIN_DERIVED_BYTES, MAX_DERIVED_BYTES = 16, 128
MAX_SALT_CHARS = 256

_B64 = "[A-Za-z0-9+/]"
_AB64 = "[A-Za-z0-9./]"  # passlib's "adapted base64": '.' instead of '+', no padding
_BCRYPT_CHARS = "[./A-Za-z0-9]"

# Modular Crypt Format as produced by bcrypt implementations: $2a$, $2b$ or $2y$, cost, 53 chars.
BCRYPT_MCF = re.compile(rf"^\$2[aby]\$(\d\d)\$({_BCRYPT_CHARS}{{22}})({_BCRYPT_CHARS}{{31}})$")
BCRYPT_SHA256 = re.compile(
    rf"^\$bcrypt-sha256\$v=2,t=2b,r=(\d{{1,2}})\$({_BCRYPT_CHARS}{{22}})\$({_BCRYPT_CHARS}{{31}})$"
)
ARGON2ID = re.compile(
    rf"^\$argon2id\$v=19\$m=(\d{{1,7}}),t=(\d{{1,3}}),p=(\d{{1,3}})\$({_B64}+)\$({_B64}+)$"
)
SCRYPT_PASSLIB = re.compile(
    rf"^\$scrypt\$ln=(\d{{1,2}}),r=(\d{{1,3}}),p=(\d{{1,3}})\$({_B64}*)\$({_B64}+)$"
)
SCRYPT_WERKZEUG = re.compile(r"^scrypt:(\d{1,9}):(\d{1,3}):(\d{1,3})\$([^$]*)\$([0-9a-f]+)$")
SCRYPT_DJANGO = re.compile(
    rf"^scrypt\$(\d{{1,9}})\$([^$]+)\$(\d{{1,3}})\$(\d{{1,3}})\$({_B64}+=*)$"
)
PBKDF2_DJANGO = re.compile(rf"^pbkdf2_sha256\$(\d{{1,8}})\$([^$]+)\$({_B64}+=*)$")
PBKDF2_PASSLIB = re.compile(rf"^\$pbkdf2-sha256\$(\d{{1,8}})\$({_AB64}*)\$({_AB64}+)$")
PBKDF2_WERKZEUG = re.compile(r"^pbkdf2:sha256:(\d{1,8})\$([^$]*)\$([0-9a-f]+)$")

Check = Callable[[bytes], bool]


@dataclass(frozen=True, slots=True)
class _Parsed:
    scheme: str
    cost: int  # bcrypt cost for the bcrypt schemes; 0 elsewhere
    check: Check  # password bytes -> matches


def _utf8(password: str) -> bytes:
    # surrogatepass: a lone surrogate from a JSON escape must hash (deterministically), not 500.
    return password.encode("utf-8", "surrogatepass")


def _b64decode(text: str, altchars: bytes | None = None) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def _equal(computed: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(computed, expected)


def _derived_length_ok(raw: bytes | None) -> bool:
    return raw is not None and MIN_DERIVED_BYTES <= len(raw) <= MAX_DERIVED_BYTES


def _prehash_key(salt22: str, password: bytes) -> bytes:
    return base64.b64encode(hmac.new(salt22.encode("ascii"), password, hashlib.sha256).digest())


def _bcrypt_check(mcf: bytes, secret: bytes) -> bool:
    try:
        return bcrypt.checkpw(secret, mcf)
    except ValueError:  # a hash bcrypt itself refuses must not become a 500
        return False


def _parse_bcrypt_sha256(value: str) -> _Parsed | None:
    m = BCRYPT_SHA256.fullmatch(value)
    if m is None:
        return None
    cost, salt, checksum = int(m.group(1)), m.group(2), m.group(3)
    # The salt's last character carries 4 padding bits that must be zero (passlib refuses others,
    # and bcrypt implementations disagree on them).
    if not 4 <= cost <= MAX_BCRYPT_COST or salt[-1] not in ".Oeu":
        return None
    mcf = f"$2b${cost:02d}${salt}{checksum}".encode("ascii")
    return _Parsed("bcrypt-sha256", cost, lambda pw: _bcrypt_check(mcf, _prehash_key(salt, pw)))


def _parse_bcrypt(value: str) -> _Parsed | None:
    m = BCRYPT_MCF.fullmatch(value)
    if m is None or not 4 <= int(m.group(1)) <= MAX_BCRYPT_COST:
        return None
    mcf = value.encode("ascii")
    # bcrypt reads 72 bytes; the library refuses longer input, so cut it as hashing did.
    return _Parsed("bcrypt", int(m.group(1)), lambda pw: _bcrypt_check(mcf, pw[:BCRYPT_MAX_BYTES]))


def _parse_argon2id(value: str) -> _Parsed | None:
    m = ARGON2ID.fullmatch(value)
    if m is None:
        return None
    memory, passes, lanes = int(m.group(1)), int(m.group(2)), int(m.group(3))
    salt, digest = _b64decode(m.group(4)), _b64decode(m.group(5))
    if not (
        1 <= lanes <= MAX_PARALLELISM
        and 8 * lanes <= memory <= MAX_ARGON2_MEMORY_KIB
        and 1 <= passes <= MAX_ARGON2_TIME_COST
        and memory * passes <= MAX_ARGON2_WORK_KIB
        and salt is not None
        and 8 <= len(salt) <= 64
        and _derived_length_ok(digest)
    ):
        return None
    encoded = value.encode("ascii")

    def check(pw: bytes) -> bool:
        # libargon2 recomputes with the hash's own parameters and compares in constant time.
        try:
            return argon2.low_level.verify_secret(encoded, pw, argon2.low_level.Type.ID)
        except argon2.exceptions.VerificationError:  # includes VerifyMismatchError
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    return _Parsed("argon2id", 0, check)


def _scrypt(n: int, r: int, p: int, salt: bytes, expected: bytes | None) -> Check | None:
    if (
        expected is None
        or n < 2
        or n & (n - 1)  # a power of two
        or not 1 <= r <= MAX_SCRYPT_R
        or not 1 <= p <= MAX_PARALLELISM
        or 128 * r * n > MAX_SCRYPT_MEMORY_BYTES
        or n * r * p > MAX_SCRYPT_WORK
        or len(salt) > MAX_SALT_CHARS
        or not _derived_length_ok(expected)
    ):
        return None
    # OpenSSL needs 128*r*(N+p+2) bytes; hashlib's 32 MiB default is below passlib's default.
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024

    def check(pw: bytes) -> bool:
        try:
            derived = hashlib.scrypt(
                pw, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=len(expected)
            )
        except (ValueError, MemoryError):
            return False
        return _equal(derived, expected)

    return check


def _parse_scrypt(value: str) -> _Parsed | None:
    check: Check | None = None
    if m := SCRYPT_PASSLIB.fullmatch(value):
        ln, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
        salt = _b64decode(m.group(4))  # standard alphabet here, unlike passlib's pbkdf2
        if salt is not None and 1 <= ln <= 30:
            check = _scrypt(1 << ln, r, p, salt, _b64decode(m.group(5)))
    elif m := SCRYPT_WERKZEUG.fullmatch(value):
        expected = bytes.fromhex(m.group(5)) if len(m.group(5)) % 2 == 0 else None
        n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
        check = _scrypt(n, r, p, _utf8(m.group(4)), expected)
    elif m := SCRYPT_DJANGO.fullmatch(value):
        n, r, p = int(m.group(1)), int(m.group(3)), int(m.group(4))
        check = _scrypt(n, r, p, _utf8(m.group(2)), _b64decode(m.group(5).rstrip("=")))
    return None if check is None else _Parsed("scrypt", 0, check)


def _pbkdf2(iterations: int, salt: bytes, expected: bytes | None) -> Check | None:
    if (
        expected is None
        or not 1 <= iterations <= MAX_PBKDF2_ITERATIONS
        or len(salt) > MAX_SALT_CHARS
        or not _derived_length_ok(expected)
    ):
        return None

    def check(pw: bytes) -> bool:
        derived = hashlib.pbkdf2_hmac("sha256", pw, salt, iterations, dklen=len(expected))
        return _equal(derived, expected)

    return check


def _parse_pbkdf2(value: str) -> _Parsed | None:
    check: Check | None = None
    if m := PBKDF2_DJANGO.fullmatch(value):
        expected = _b64decode(m.group(3).rstrip("="))
        check = _pbkdf2(int(m.group(1)), _utf8(m.group(2)), expected)
    elif m := PBKDF2_PASSLIB.fullmatch(value):
        salt = _b64decode(m.group(2), b"./")
        if salt is not None:
            check = _pbkdf2(int(m.group(1)), salt, _b64decode(m.group(3), b"./"))
    elif m := PBKDF2_WERKZEUG.fullmatch(value):
        expected = bytes.fromhex(m.group(3)) if len(m.group(3)) % 2 == 0 else None
        check = _pbkdf2(int(m.group(1)), _utf8(m.group(2)), expected)
    return None if check is None else _Parsed("pbkdf2-sha256", 0, check)


_PARSERS = (
    _parse_bcrypt_sha256,
    _parse_bcrypt,
    _parse_argon2id,
    _parse_scrypt,
    _parse_pbkdf2,
)


def _parse(value: str) -> _Parsed | None:
    if not value.isascii() or len(value) > 1024:
        return None
    for parser in _PARSERS:
        parsed = parser(value)
        if parsed is not None:
            return parsed
    return None


def is_bcrypt_hash(value: str) -> bool:
    """A plain bcrypt hash in Modular Crypt Format, within the accepted cost range."""
    return _parse_bcrypt(value) is not None


def is_importable_hash(value: str) -> bool:
    """A hash ``password_hash`` accepts: any format above, well-formed, with bounded costs."""
    return _parse(value) is not None


IMPORTABLE_HASH_FORMATS = (
    "bcrypt (Modular Crypt Format), argon2id (PHC string), scrypt (passlib, Werkzeug or Django "
    "format) or PBKDF2-SHA256 (Django, passlib or Werkzeug format)"
)


def hash_password_sync(password: str) -> str:
    """Hash in the current format, in the calling thread (one-shot tools: the seed, tests)."""
    salt = bcrypt.gensalt(BCRYPT_COST)  # b"$2b$10$" + 22 salt characters
    salt22 = salt[7:].decode("ascii")
    mcf = bcrypt.hashpw(_prehash_key(salt22, _utf8(password)), salt).decode("ascii")
    return f"$bcrypt-sha256$v=2,t=2b,r={BCRYPT_COST}${salt22}${mcf[29:]}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Check ``password`` against a stored hash of any accepted format; False for garbage."""
    parsed = _parse(stored)
    return parsed is not None and parsed.check(_utf8(password))


def needs_rehash(password: str, stored: str) -> bool:
    """Whether a hash that just verified ``password`` should be replaced by a current one.

    A plain bcrypt hash checked with a password of 72 bytes or more is kept: the password it was
    made from may have gone on past byte 72 (bcrypt ignored the rest, which we cannot know), so
    re-hashing what was typed now could lock the user out of the password they actually chose.
    Below 72 bytes, what was typed is the whole original.
    """
    parsed = _parse(stored)
    if parsed is None:
        return False
    if parsed.scheme == "bcrypt-sha256":
        return parsed.cost < BCRYPT_COST
    if parsed.scheme == "bcrypt":
        return len(_utf8(password)) < BCRYPT_MAX_BYTES
    return True


class PasswordHasher:
    """Hashes and checks passwords in worker threads, at most ``concurrency`` at a time."""

    def __init__(self, concurrency: int) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)
        # A real hash in the current format to check against when the account does not exist,
        # so the time to answer "wrong email" matches the time to answer "wrong password".
        self._dummy = hash_password_sync("authstack-dummy-password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(hash_password_sync, password, limiter=self._limiter)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password; with no hash, spend the same time and return False."""
        target = password_hash or self._dummy
        ok = await anyio.to_thread.run_sync(
            verify_password_sync, password, target, limiter=self._limiter
        )
        return ok and password_hash is not None

    @staticmethod
    def needs_rehash(password: str, password_hash: str) -> bool:
        return needs_rehash(password, password_hash)
