"""Image fields (profile images, team images, project logos): storing uploads, dropping old ones.

A write that sets or clears an image field goes through one ``ImageWrites``::

    async with ImageWrites(deps, project.id) as images:
        url = await images.take(value)              # before the transaction: upload
        async with deps.pool.connection() as conn, conn.transaction():
            old = await lock_..._image(conn, ...)     # the value being replaced, locked
            ...update the row...
            await images.attach_in(conn, dropped=[old])

Each upload is recorded in ``unattached_objects`` (committed) before its object is written, and
``attach_in`` deletes that record in the row's transaction, so an upload whose row never commits
keeps its record and the cron sweep deletes it. Dropped images of ours are recorded in the same
transaction and deleted once the ``async with`` block ends without an error, i.e. after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, TypeVar

import anyio
import structlog
from msgspec import UnsetType
from psycopg import AsyncConnection

from authstack_core.db.queries import images as q
from authstack_core.domain.context import Deps
from authstack_core.errors import ImageStorageUnavailable, InvalidImage
from authstack_core.images import clean_image, decode_data_url, is_data_url
from authstack_core.storage import StorageUnavailableError, new_key
from authstack_core.urls import parse_web_url

log = structlog.get_logger(__name__)

# Decoding is CPU-bound and may hold a 4096 x 4096 RGBA image (64 MB): two at a time per process.
_DECODERS = anyio.CapacityLimiter(2)
ORPHAN_AGE_S = 3600.0
MAX_LINKED_URL_CHARS = 4096
SWEEP_BATCH = 200

V = TypeVar("V", bound="str | None | UnsetType")


def check_linked_image(value: str) -> str:
    """A server's linked image: an absolute ``https://`` URL with a host, stored as sent and
    never fetched by us (so a private address in it is only the viewer's browser's business).
    Raise InvalidImage otherwise (``http:``, ``javascript:``, relative, ...)."""
    if len(value) > MAX_LINKED_URL_CHARS:
        raise InvalidImage(f"a linked image URL is longer than {MAX_LINKED_URL_CHARS} characters")
    url = parse_web_url(value)
    if url is None or url.scheme != "https" or url.host_kind == "none":
        raise InvalidImage("a linked image must be an https:// URL (or send a base64 data URL)")
    return value


class ImageWrites:
    """The images one write stores and the stored images it lets go of."""

    def __init__(self, deps: Deps, project_id: str) -> None:
        self._deps = deps
        self._project_id = project_id
        self._prefix = f"images/{project_id}/"
        self._uploaded: list[str] = []
        self._dropped: list[str] = []

    async def take(self, value: V) -> V:
        """The value to store for an image field: a data URL's image is checked, re-encoded and
        uploaded, and its public URL returned; an https URL, None and UNSET are kept.

        Raise InvalidImage for anything else or a refused image, and ImageStorageUnavailable
        when there is no storage or it does not answer (nothing is written then).
        """
        if not isinstance(value, str):
            return value
        if not is_data_url(value):
            store = self._deps.storage
            if store is not None and store.public_key_of(value) is not None:
                return value  # one of our stored images (e.g. sent back unchanged)
            return check_linked_image(value)  # type: ignore[return-value]
        data = decode_data_url(value)
        image = await anyio.to_thread.run_sync(clean_image, data, limiter=_DECODERS)
        store = self._deps.storage
        if store is None:
            raise ImageStorageUnavailable()
        key = new_key(self._prefix, image.extension)
        async with self._deps.pool.connection() as conn:
            await q.insert_unattached(conn, key, self._project_id)
        try:
            url = await store.put_public(key, image.data, image.content_type)
        except StorageUnavailableError:
            log.warning("image_upload_failed", key=key, exc_info=True)
            raise ImageStorageUnavailable() from None
        self._uploaded.append(key)
        return url  # type: ignore[return-value]

    async def take_fields(self, changes: object, names: Iterable[str]) -> None:
        """``take`` each named image field of ``changes``, in place; if one fails, the images
        already uploaded for the others are deleted before the error goes on."""
        try:
            for name in names:
                setattr(changes, name, await self.take(getattr(changes, name)))
        except BaseException:
            await _delete_objects(self._deps, self._uploaded)
            raise

    async def attach_in(self, conn: AsyncConnection[Any], *, dropped: Iterable[str | None]) -> None:
        """In the write's transaction, after its rows changed: the uploads are now referenced,
        and each dropped URL that is one of this project's stored images, and that no image
        field of the project still holds, is recorded for deletion after commit."""
        await q.delete_unattached(conn, self._uploaded)
        store = self._deps.storage
        if store is None:
            return
        for url in set(filter(None, dropped)):
            key = store.public_key_of(url)
            if key is None or not key.startswith(self._prefix) or key in self._dropped:
                continue
            if await q.select_is_referenced(conn, self._project_id, url):
                continue
            await q.insert_unattached(conn, key, self._project_id)
            self._dropped.append(key)

    async def __aenter__(self) -> ImageWrites:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Failed: this write's uploads go now (their records stay until the objects are gone,
        # so the sweep finishes what storage refuses). Succeeded: the images it let go of.
        await _delete_objects(self._deps, self._uploaded if exc_type else self._dropped)


async def _delete_objects(deps: Deps, keys: list[str]) -> int:
    """Delete stored objects, then their records; stop at the first storage failure and leave
    the rest recorded for the sweep. Returns how many went."""
    store = deps.storage
    if not keys or store is None:
        return 0
    done: list[str] = []
    try:
        with anyio.CancelScope(shield=True):
            for key in keys:
                await store.delete_public(key)
                done.append(key)
    except StorageUnavailableError:
        log.warning("image_delete_failed", keys=len(keys) - len(done), exc_info=True)
    finally:
        async with deps.pool.connection() as conn:
            await q.delete_unattached(conn, done)
    return len(done)


async def sweep_orphans(deps: Deps, *, age_s: float = ORPHAN_AGE_S) -> int:
    """Delete stored images recorded as unattached longer than ``age_s`` ago (uploads whose row
    never committed, drops whose deletion failed) unless an image field holds them again.
    One bounded batch per call; returns how many objects were deleted."""
    store = deps.storage
    if store is None:
        return 0
    async with deps.pool.connection() as conn:
        found = await q.select_orphans(conn, age_s=age_s, limit=SWEEP_BATCH)
        orphans: list[str] = []
        for key, project_id in found:
            if await q.select_is_referenced(conn, project_id, store.public_url(key)):
                await q.delete_unattached(conn, [key])
            else:
                orphans.append(key)
    return await _delete_objects(deps, orphans)
