"""bcrypt (cost 10) off the event loop, bounded so a sign-in storm cannot starve other requests."""

from __future__ import annotations

import re

import anyio
import anyio.to_thread
import bcrypt

BCRYPT_COST = 10
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 70
# Modular Crypt Format as produced by bcrypt implementations: $2a$, $2b$ or $2y$, cost, 53 chars.
BCRYPT_MCF = re.compile(r"^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$")


def _to_bytes(password: str) -> bytes:
    # bcrypt only reads 72 bytes; JavaScript implementations truncate silently and so do we,
    # rather than reject a 70-character password that is longer than 72 bytes in UTF-8.
    return password.encode("utf-8")[:72]


def is_bcrypt_hash(value: str) -> bool:
    return BCRYPT_MCF.match(value) is not None


class PasswordHasher:
    """Hashes and checks passwords in worker threads, at most ``concurrency`` at a time."""

    def __init__(self, concurrency: int) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)
        # A real hash to compare against when the account does not exist, so the time to answer
        # "wrong email" matches the time to answer "wrong password".
        self._dummy = bcrypt.hashpw(b"authstack-dummy-password", bcrypt.gensalt(BCRYPT_COST))

    async def hash(self, password: str) -> str:
        hashed = await anyio.to_thread.run_sync(
            lambda: bcrypt.hashpw(_to_bytes(password), bcrypt.gensalt(BCRYPT_COST)),
            limiter=self._limiter,
        )
        return hashed.decode("ascii")

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password; with no hash, spend the same time and return False."""
        target = password_hash.encode("ascii") if password_hash else self._dummy

        def check() -> bool:
            try:
                return bcrypt.checkpw(_to_bytes(password), target)
            except ValueError:  # a corrupt stored hash must not become a 500
                return False

        ok = await anyio.to_thread.run_sync(check, limiter=self._limiter)
        return ok and password_hash is not None


def hash_password_sync(password: str) -> str:
    """For one-shot tools (the seed); services use PasswordHasher.hash."""
    return bcrypt.hashpw(_to_bytes(password), bcrypt.gensalt(BCRYPT_COST)).decode("ascii")
