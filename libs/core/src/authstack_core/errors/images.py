"""Errors of uploaded images (profile images, team images, project logos)."""

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
