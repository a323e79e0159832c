"""Errors of stored files: uploaded images (profile images, team images, project logos) and
session replays."""

# ruff: noqa: N818

from authstack_core.errors.base import PlainError


class InvalidImage(PlainError, status=400):
    """An image field's value we will not store; ``reason`` says why, in words for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid image: {reason}.")


class ImageStorageUnavailable(
    PlainError,
    status=503,
    message="Image storage is unavailable, so the image was not saved and nothing was changed."
    " Try again later.",
):
    pass


class SessionReplayStorageUnavailable(
    PlainError,
    status=503,
    message="Session replay storage is unavailable, so the batch was not saved. Try again later.",
):
    pass


class SessionReplayBudgetExceeded(
    PlainError,
    status=413,
    message="This project has used its session replay storage budget, so the batch was not saved.",
):
    pass


class SessionReplayBatchTooLarge(PlainError, status=413):
    """A batch over the body-size limit; the message names the limit."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The session replay batch is too large (at most {max_bytes} bytes).")


class SessionReplayNotFound(PlainError, status=404, message="Session replay not found."):
    """An id that names no replay (or chunk) of this project: upstream answers ITEM_NOT_FOUND,
    which has no known-error class in the SDK's list we follow."""
