"""The record of every request the emulator answered, oldest first."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Mapping
from typing import Any

import attr
import attrs

__all__ = ["PartInfo", "ProviderCall", "Trace", "TraceDraft", "TraceLog"]

#: Request headers never written to a trace.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


@attrs.frozen
class ProviderCall:
    """One provider call: the model, the status it answered (504: cut off by the timeout)."""

    model: str
    status: int
    latency_ms: float


@attrs.frozen
class PartInfo:
    """One part of the form as received (the bytes themselves are not kept)."""

    name: str
    filename: str | None
    content_type: str | None
    size: int


@attrs.define
class _TraceFields:
    """Every field of a trace but the status, declared once for the draft and the trace."""

    id: str
    seq: int
    received_at: float
    request_headers: Mapping[str, str] = attrs.field(factory=dict[str, str])
    model_requested: str | None = None
    model_used: str | None = None
    attempts: tuple[ProviderCall, ...] = ()
    cache_hit: bool = False
    rate_limited: bool = False
    identity: Mapping[str, Any] | None = None
    name: str | None = None
    user: str | None = None
    prompt: str | None = None
    prompt_id: str | None = None
    image_count: int = 0
    body_sha256: str | None = None
    parts: tuple[PartInfo, ...] = ()
    fields: Mapping[str, str] = attrs.field(factory=dict[str, str])
    fault: str | None = None
    error: str | None = None


@attrs.define
class TraceDraft(_TraceFields):
    """The trace of a request being handled, filled in as it goes; :meth:`freeze` ends it."""

    def freeze(self, status: int | None) -> Trace:
        """Return the finished trace with the status answered (None: no answer)."""
        return Trace(status=status, **attrs.asdict(self, recurse=False))


# attrs (unlike dataclasses) allows a frozen subclass of a mutable class; the fields stay
# declared once, and the draft, which _app.py fills in by assignment, stays mutable.
@attrs.frozen  # pyright: ignore[reportGeneralTypeIssues]
class Trace(_TraceFields):
    """One request to ``POST /v2/router/images/edits`` and how the emulator answered it.

    - ``id``: the request id, also sent as the ``x-request-id`` response header.
    - ``status``: the HTTP status answered; None when no answer reached the client (an injected
      disconnect, or the client went away: timeout, cancel).
    - ``identity``: ``orq.identity``, else the deprecated ``orq.contact``.
    - ``name``: the resolved one (``orq.name`` over ``name``).
    - ``rate_limited``: refused with 429 by the emulator's own rate limit.
    - ``fields``: the text parts as received (the last one wins, each cut at 4 KiB);
      ``parts``: every part in order, without its bytes.
    - ``fault``: the injection that applied; ``error``: the message answered with a 4XX/5XX.
    - ``received_at``: wall-clock seconds; ``seq``: the arrival number (traces are read in
      arrival order).
    """

    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the trace as a JSON-ready dict."""
        return attr.asdict(self, retain_collection_types=False)  # tuples become lists


class TraceLog:
    """An in-memory list of the last ``max_traces`` traces, read in arrival order."""

    def __init__(self, max_traces: int = 10_000) -> None:
        self._traces: collections.deque[Trace] = collections.deque(maxlen=max_traces)
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        """Return the arrival number of a new request."""
        return next(self._seq)

    def add(self, trace: Trace) -> None:
        """Record a finished request."""
        self._traces.append(trace)

    def list(self) -> list[Trace]:
        """Return the finished requests, oldest (first to arrive) first."""
        return sorted(self._traces, key=lambda trace: trace.seq)

    def clear(self) -> None:
        """Forget every trace."""
        self._traces.clear()
