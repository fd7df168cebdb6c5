"""The input and output images of the last N requests, kept in memory for the trace viewer.

Bounded twice: at most ``max_requests`` requests (the oldest go first) and images up to
``MAX_KEPT_BYTES`` each (larger ones are counted but not kept).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Literal

__all__ = ["MAX_KEPT_BYTES", "ImageKind", "ImageStore"]

MAX_KEPT_BYTES = 8 * 1024 * 1024
ImageKind = Literal["input", "output"]
#: One image: its bytes (None when too large to keep) and content type.
_Image = tuple[bytes | None, str]


class ImageStore:
    """Images by request id and kind; ``max_requests`` 0 keeps nothing."""

    def __init__(self, max_requests: int) -> None:
        if isinstance(max_requests, bool) or max_requests < 0:
            raise ValueError(f"keep_images must be an integer >= 0, got {max_requests!r}")
        self._max = max_requests
        self._entries: collections.OrderedDict[str, dict[ImageKind, list[_Image]]] = (
            collections.OrderedDict()
        )

    def put(self, request_id: str, kind: ImageKind, images: Sequence[tuple[bytes, str]]) -> None:
        """Keep a request's images of one kind."""
        if self._max == 0:
            return
        entry = self._entries.setdefault(request_id, {"input": [], "output": []})
        entry[kind] = [(data if len(data) <= MAX_KEPT_BYTES else None, ct) for data, ct in images]
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def counts(self, request_id: str) -> dict[str, int]:
        """How many images of each kind are kept for a request."""
        entry = self._entries.get(request_id, {})
        return {kind: len(entry.get(kind, [])) for kind in ("input", "output")}

    def get(self, request_id: str, kind: str, index: int) -> tuple[bytes, str] | None:
        """Return one kept image and its content type, if any."""
        entry = self._entries.get(request_id)
        if entry is None or kind not in ("input", "output"):
            return None
        images = entry["input" if kind == "input" else "output"]
        if not 0 <= index < len(images):
            return None
        data, content_type = images[index]
        return None if data is None else (data, content_type)

    def clear(self) -> None:
        """Forget every image."""
        self._entries.clear()
