"""Limits of the image-edit operation, shared by the SDK's validation and the emulator."""

from __future__ import annotations

__all__ = [
    "CACHE_TTL_DEFAULT",
    "CACHE_TTL_MAX",
    "DEFAULT_FALLBACK_ON_CODES",
    "FALLBACK_ON_CODES_MAX",
    "FALLBACK_STATUS_MAX",
    "FALLBACK_STATUS_MIN",
    "IMAGE_CONTENT_TYPES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "N_MAX",
    "N_MIN",
    "RETRY_COUNT_DEFAULT",
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
#: The gateway's own defaults (what it does when a field is left out); the SDK never sends them.
RETRY_COUNT_DEFAULT = 3
CACHE_TTL_DEFAULT = 3600  # since orq-ai-sdk 4.17.0 (was 1800)
CACHE_TTL_MAX = 259_200
#: ``fallback_on_codes``: up to 20 unique statuses in 400..599; omitted or empty means these.
FALLBACK_ON_CODES_MAX = 20
FALLBACK_STATUS_MIN, FALLBACK_STATUS_MAX = 400, 599
DEFAULT_FALLBACK_ON_CODES = (408, 429, 500, 502, 503, 504, 529)
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
