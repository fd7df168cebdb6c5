"""The gateway's ``exact_match`` response cache.

The key covers what determines the answer: the model asked for, the prompt as sent, the
``orq.prompt`` reference, every image (sha256 of its bytes, in order; an unfetched URL by its
text), ``n``, ``size``, ``quality``, ``response_format`` and the resolved gateway options
(every option, so a new one is in the key by default; the cache by its type only). It leaves
out the cache ``ttl``, ``name``/``orq.name``, ``user``, ``orq.identity``/``contact`` and
filenames: those change who is traced, not what is produced. Only requests carrying a
``cache`` option read or write it, and only successful answers are stored, each for the
``ttl`` of the request that stored it.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._options import GatewayOptions
from ._request import EditRequest

__all__ = ["CachedAnswer", "ResponseCache", "cache_key"]

MAX_ENTRIES = 1024
#: Gateway options that change who is traced, not what is produced.
_NOT_IN_KEY = ("name",)


def cache_key(request: EditRequest, options: GatewayOptions) -> str:
    """Return the exact-match key of a request under its resolved options."""
    gateway = attrs.asdict(options)
    for left_out in _NOT_IN_KEY:
        gateway.pop(left_out)
    if options.cache is not None:
        gateway["cache"] = options.cache.type
    material = {
        "model": request.model,
        "prompt": request.prompt,
        "prompt_ref": attrs.asdict(request.orq.prompt) if request.orq.prompt else None,
        "images": [
            image.url
            if image.url and not image.url.startswith("data:")
            else hashlib.sha256(image.data).hexdigest()
            for image in request.images
        ],
        "n": request.n,
        "size": request.size,
        "quality": request.quality,
        "response_format": request.response_format,
        "gateway": gateway,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


@attrs.frozen
class CachedAnswer:
    """A stored successful answer, the model that produced it and its images (for the viewer)."""

    body: dict[str, Any]
    model_used: str | None
    expires_at: float
    images: tuple[tuple[bytes, str], ...] = ()


class ResponseCache:
    """Answers by key, expiring by the injectable ``clock`` (seconds, monotonic)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: collections.OrderedDict[str, CachedAnswer] = collections.OrderedDict()

    def get(self, key: str) -> CachedAnswer | None:
        """Return the live answer stored under ``key``, if any."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            del self._entries[key]
            return None
        return entry

    def put(
        self,
        key: str,
        body: dict[str, Any],
        model_used: str | None,
        ttl: float,
        images: Sequence[tuple[bytes, str]] = (),
    ) -> None:
        """Store an answer for ``ttl`` seconds (the oldest entries go beyond ``MAX_ENTRIES``)."""
        self._entries[key] = CachedAnswer(body, model_used, self._clock() + ttl, tuple(images))
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()
