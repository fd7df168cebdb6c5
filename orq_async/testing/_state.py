"""Everything one emulator instance remembers, shared by its request handlers."""

from __future__ import annotations

import collections
import random
import uuid
from collections.abc import Callable, Collection, Mapping

from aiohttp import web

from ._cache import ResponseCache
from ._faults import FaultQueue
from ._gateway import Router
from ._images import ImageStore
from ._models import LocalModels
from ._ratelimit import RateLimiter
from ._traces import TraceLog

__all__ = ["STATE", "EmulatorState", "FileStore"]

MAX_FILES = 4096


class FileStore:
    """Images answered with ``response_format=url``; the oldest go beyond ``MAX_FILES``."""

    def __init__(self) -> None:
        self._files: collections.OrderedDict[str, tuple[bytes, str]] = collections.OrderedDict()

    def add(self, data: bytes, content_type: str) -> str:
        """Store an image and return its id."""
        file_id = uuid.uuid4().hex
        self._files[file_id] = (data, content_type)
        while len(self._files) > MAX_FILES:
            self._files.popitem(last=False)
        return file_id

    def get(self, file_id: str) -> tuple[bytes, str] | None:
        """Return an image's bytes and content type, if still stored."""
        return self._files.get(file_id)


class EmulatorState:
    """The configuration and the memory of one emulator: traces, faults, cache, files, images.

    ``admin_token`` None leaves the admin endpoints and the viewer open (loopback only).
    """

    def __init__(
        self,
        *,
        api_keys: Collection[str] | None,
        prompts: Mapping[str, str],
        seed: int | None,
        clock: Callable[[], float],
        max_traces: int,
        rate_limit: RateLimiter | None = None,
        keep_images: int = 20,
        admin_token: str | None = None,
    ) -> None:
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.prompts = dict(prompts)
        self.traces = TraceLog(max_traces)
        self.faults = FaultQueue()
        self.cache = ResponseCache(clock)
        self.files = FileStore()
        self.images = ImageStore(keep_images)
        self.router = Router(LocalModels(), random.Random(seed))
        self.rate_limit = rate_limit
        self.admin_token = admin_token


#: Where the application keeps its emulator's state.
STATE = web.AppKey("state", EmulatorState)
