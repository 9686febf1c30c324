"""Image bytes the data and odd-image families both feed in: any encoding, a bomb, an error page."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np

HTML = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n"


def encode(array: Any, fmt: str, **options: Any) -> bytes:
    """``array`` (an (H, W) or (H, W, C) array, or a PIL image) stored in ``fmt`` by PIL."""
    from PIL import Image

    buf = io.BytesIO()
    img = array if not isinstance(array, np.ndarray) else Image.fromarray(array)
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A 200-byte PNG whose header claims ``width`` x ``height`` grey pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )
