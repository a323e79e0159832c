"""Uploaded images: a base64 data URL decoded, checked by Pillow and re-encoded without metadata."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from authstack_core.errors import InvalidImage
from authstack_core.models.images import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE

if TYPE_CHECKING:
    from PIL import Image as PILImage


@functools.cache
def _pillow() -> tuple[ModuleType, ModuleType]:
    """Pillow's Image and ImageOps, imported on the first image (Pillow costs a process ~7 MB
    of memory that an API nobody uploads an image to need not carry)."""
    from PIL import Image, ImageOps  # noqa: PLC0415

    # Pillow's own bomb guard, at our limit: it warns above this many pixels and refuses above
    # twice as many. Every decode here also checks the header's size first and turns the
    # warning into an error, so the global only matters as a second line (nothing else in the
    # process uses Pillow).
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE
    return Image, ImageOps


# format name (Pillow) -> (Content-Type, file extension); the only formats Pillow may open here
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
# RFC 2397 with the base64 marker required; parameters (e.g. a name) are allowed and ignored.
_DATA_URL = re.compile(r"data:([a-z0-9.+-]+/[a-z0-9.+-]+)((?:;[^;,]*)*?);base64,(.*)", re.I | re.S)


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str


def is_data_url(value: str) -> bool:
    return value[:5].lower() == "data:"


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:image/...;base64,...`` URL. Raise InvalidImage when it is not one,
    when its base64 is not strict (RFC 4648 alphabet and padding, no whitespace), when it declares
    SVG or a non-image type, or when it holds more than MAX_IMAGE_BYTES."""
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise InvalidImage("it must be a base64 data URL (data:image/<type>;base64,<data>)")
    declared = match.group(1).lower()
    if not declared.startswith("image/"):
        raise InvalidImage(f"the data URL declares {declared}, not an image")
    if declared.startswith("image/svg"):
        raise InvalidImage("SVG images are not accepted (only JPEG, PNG and WebP)")
    payload = match.group(3)
    if len(payload) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise InvalidImage("the image is larger than 1 MB")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("the data URL's base64 is not valid") from None
    if not data:
        raise InvalidImage("the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage("the image is larger than 1 MB")
    return data


def clean_image(data: bytes) -> CleanImage:
    """Decode ``data`` as JPEG, PNG or WebP (whatever it claims to be) and encode it afresh.

    The copy keeps only pixels: no EXIF (orientation is applied first), GPS, XMP, ICC profile or
    text chunks, and nothing that followed the image in the input. Animations keep their first
    frame. Raise InvalidImage for any other format, a corrupt or truncated file, or a side over
    MAX_IMAGE_SIDE (read from the header, before any pixel is decoded). CPU-bound: run it in a
    worker thread.
    """
    image_module, _ = _pillow()
    with warnings.catch_warnings():
        warnings.simplefilter("error", image_module.DecompressionBombWarning)
        try:
            with image_module.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                width, height = image.size
                if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
                    raise InvalidImage(
                        f"the image is {width} x {height} pixels; at most"
                        f" {MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} are accepted"
                    )
                fmt = image.format or ""
                image.load()
                pixels = _pixels_only(image, fmt)
        except image_module.UnidentifiedImageError:
            raise InvalidImage("it is not a JPEG, PNG or WebP image") from None
        except (image_module.DecompressionBombError, image_module.DecompressionBombWarning):
            raise InvalidImage("the image has too many pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise InvalidImage("the image could not be decoded (corrupt or truncated)") from None
    content_type, extension = FORMATS[fmt]
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        pixels.save(out, "PNG", optimize=True)
    else:
        pixels.save(out, "WEBP", quality=90)
    return CleanImage(out.getvalue(), content_type, extension)


def _pixels_only(image: PILImage.Image, fmt: str) -> PILImage.Image:
    """A new image with the pixels of ``image`` upright and none of its metadata."""
    _, image_ops = _pillow()
    upright: PILImage.Image = image_ops.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    if fmt == "JPEG":
        mode = "L" if upright.mode == "L" else "RGB"
    else:
        mode = "RGBA" if has_alpha else ("L" if upright.mode == "L" else "RGB")
    pixels = upright.convert(mode)
    pixels.info = {}  # exif, icc_profile, xmp, dpi, text chunks: none goes to the encoder
    return pixels
