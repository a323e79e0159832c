"""Images for the upload tests, made with Pillow, and reads of what the public bucket serves."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Any

import httpx
from PIL import Image

from tests.api.helpers import as_user, sign_up
from tests.conftest import Project

ME = "/api/v1/users/me"
GPS_IFD = 0x8825


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (24, 16), **save: Any) -> bytes:
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(
        out, fmt, **save
    )
    return out.getvalue()


def photo_with_gps() -> bytes:
    """A JPEG carrying EXIF with a camera, GPS coordinates and an ICC profile."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return image_bytes("JPEG", exif=exif.tobytes(), icc_profile=b"private-icc" * 8)


def data_url(data: bytes, declared: str = "image/png") -> str:
    return f"data:{declared};base64,{base64.b64encode(data).decode()}"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def fetch(url: str) -> httpx.Response:
    """GET a public URL as a browser would: no credentials."""
    return httpx.get(url, timeout=10)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def signed_up(http: httpx.Client, project: Project) -> tuple[dict[str, str], str]:
    """A new user's client headers and id."""
    tokens = sign_up(http, project)
    return as_user(project, tokens["access_token"]), tokens["user_id"]


def stored_keys(seaweedfs: Any, project_id: str) -> list[str]:
    """The keys of the project's images in the public bucket."""
    listed = seaweedfs.client().list_objects_v2(
        Bucket=seaweedfs.bucket, Prefix=f"images/{project_id}/"
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))
