"""Files in S3-compatible storage: a public bucket for images, a private one read by presigned URL.

boto3 is synchronous, so every call runs in a worker thread, at most ``STACK_S3_MAX_CONCURRENCY``
at once per process; each has explicit connect and read timeouts and one retry, so an outage
costs a request seconds and surfaces as ``StorageUnavailableError``. No message here ever carries
the secret key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote

import anyio

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError

    from authstack_core.settings.s3 import S3Section

T = TypeVar("T")
# Public objects never change under their key (a new image gets a new key), so browsers and
# CDNs may keep them for a year.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"
KEY_RANDOM_BYTES = 24  # 32 url-safe characters


class StorageUnavailableError(Exception):
    """Storage is not configured, cannot be reached, or refused the request."""


def new_key(prefix: str, extension: str) -> str:
    """An unguessable object key: ``<prefix>/<32 random url-safe characters>.<extension>``."""
    return f"{prefix.strip('/')}/{secrets.token_urlsafe(KEY_RANDOM_BYTES)}.{extension}"


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or _status(exc))


class ObjectStore:
    """The configured S3 server and its two buckets (build with ``from_settings``)."""

    def __init__(self, settings: S3Section) -> None:
        self.endpoint = settings.s3_endpoint
        self.bucket = settings.s3_bucket
        self.private_bucket = settings.s3_private_bucket
        self._public_base = settings.s3_public_endpoint or f"{self.endpoint}/{quote(self.bucket)}"
        self._max_concurrency = settings.s3_max_concurrency
        self._limiter: anyio.CapacityLimiter | None = None
        # Imported here, not with this module: botocore costs a process ~15 MB of memory, which
        # an API without STACK_S3_ENDPOINT (no store is built) need not carry.
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        self._client_error: type[ClientError] = ClientError
        self._boto_error: type[BotoCoreError] = BotoCoreError
        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=settings.s3_connect_timeout_seconds,
            read_timeout=settings.s3_read_timeout_seconds,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=settings.s3_max_concurrency,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=config,
        )

    @classmethod
    def from_settings(cls, settings: S3Section) -> ObjectStore | None:
        """The store, or None when STACK_S3_ENDPOINT is unset (no storage)."""
        return cls(settings) if settings.s3_configured else None

    def close(self) -> None:
        self._client.close()

    # --- start-up check ---------------------------------------------------------------------

    def check(self) -> None:
        """HEAD both buckets with the configured credentials (blocking; for start-up).

        Raises StorageUnavailableError naming the variable to fix: the endpoint when it does
        not answer, the key pair when it is refused, a bucket variable when that bucket is
        missing.
        """
        for variable, bucket in (
            ("STACK_S3_BUCKET", self.bucket),
            ("STACK_S3_PRIVATE_BUCKET", self.private_bucket),
        ):
            try:
                self._client.head_bucket(Bucket=bucket)
            except self._client_error as exc:
                status = _status(exc)
                if status == 404:
                    raise StorageUnavailableError(
                        f"{variable}: the bucket {bucket!r} does not exist at {self.endpoint}"
                    ) from None
                if status in (401, 403):
                    raise StorageUnavailableError(
                        f"STACK_S3_ACCESS_KEY_ID / STACK_S3_SECRET_ACCESS_KEY: {self.endpoint}"
                        f" refused these credentials for the bucket {bucket!r} ({status}; a wrong"
                        " secret key, an unknown access key, or no access to the bucket)"
                    ) from None
                raise StorageUnavailableError(
                    f"STACK_S3_ENDPOINT: {self.endpoint} answered {_code(exc)} for a HEAD of the"
                    f" bucket {bucket!r} ({variable})"
                ) from None
            except self._boto_error as exc:
                raise StorageUnavailableError(
                    f"STACK_S3_ENDPOINT: {self.endpoint} did not answer ({type(exc).__name__})"
                ) from None

    # --- calls ------------------------------------------------------------------------------

    async def _call(self, what: str, call: Callable[[], T]) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_concurrency)
        try:
            return await anyio.to_thread.run_sync(call, limiter=self._limiter)
        except self._client_error as exc:
            raise StorageUnavailableError(
                f"file storage refused to {what} ({_code(exc)})"
            ) from None
        except self._boto_error as exc:
            raise StorageUnavailableError(
                f"file storage did not answer while trying to {what} ({type(exc).__name__})"
            ) from None

    async def _put(
        self, bucket: str, key: str, data: bytes, content_type: str, **headers: str
    ) -> None:
        call = partial(
            self._client.put_object,
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            **headers,
        )
        await self._call("store a file", call)

    async def put_public(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key`` in the public bucket (cached for a year); its URL."""
        await self._put(self.bucket, key, data, content_type, CacheControl=PUBLIC_CACHE_CONTROL)
        return self.public_url(key)

    async def delete_public(self, key: str) -> None:
        """Delete ``key`` from the public bucket; deleting a missing key succeeds."""
        await self._call(
            "delete a file", partial(self._client.delete_object, Bucket=self.bucket, Key=key)
        )

    def public_url(self, key: str) -> str:
        return f"{self._public_base}/{quote(key, safe='/')}"

    def public_key_of(self, url: str) -> str | None:
        """The key of one of our public URLs, or None for any other URL."""
        prefix = self._public_base + "/"
        if not url.startswith(prefix):
            return None
        key = unquote(url[len(prefix) :])
        if not key or "?" in url or "#" in url or any(p in ("", ".", "..") for p in key.split("/")):
            return None
        return key

    async def put_private(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` in the private bucket."""
        await self._put(self.private_bucket, key, data, content_type)

    async def get_private(self, key: str) -> bytes:
        """The bytes stored under ``key`` in the private bucket (StorageUnavailableError when
        it is missing too: only keys our rows name are read)."""

        def read() -> bytes:
            answer = self._client.get_object(Bucket=self.private_bucket, Key=key)
            return bytes(answer["Body"].read())

        return await self._call("read a file", read)

    async def presigned_private_url(self, key: str, expires_s: int) -> str:
        """A URL reading ``key`` from the private bucket for ``expires_s`` seconds.

        Signing is local (no request to the server), so it succeeds while storage is down.
        """
        url = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.private_bucket, "Key": key},
            ExpiresIn=expires_s,
        )
        return str(url)

    async def delete_private(self, key: str) -> None:
        """Delete ``key`` from the private bucket; deleting a missing key succeeds."""
        await self._call(
            "delete a file",
            partial(self._client.delete_object, Bucket=self.private_bucket, Key=key),
        )
