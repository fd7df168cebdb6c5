"""Limits of the image-edit operation, shared by the SDK's validation and the emulator."""

from __future__ import annotations

__all__ = [
    "CACHE_TTL_MAX",
    "IMAGE_CONTENT_TYPES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "N_MAX",
    "N_MIN",
    "RETRY_COUNT_MAX",
    "RETRY_COUNT_MIN",
    "sniff_image_type",
]

MAX_IMAGES = 16
#: "each < 50 MB": we read MB as MiB, the larger reading, so the SDK never refuses a file the
#: gateway would take.
MAX_IMAGE_BYTES = 50 * 1024 * 1024
N_MIN, N_MAX = 1, 10
RETRY_COUNT_MIN, RETRY_COUNT_MAX = 1, 5
CACHE_TTL_MAX = 259_200
IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "image/webp")


def sniff_image_type(head: bytes) -> str | None:
    """Return the content type of an image by its first 12 bytes, or None if not PNG/JPEG/WebP."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
