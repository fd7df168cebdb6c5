"""Gateway-level faults injected from Python, consumed one per request in FIFO order.

A fault is taken synchronously as a request arrives (no ``await`` between looking and taking),
so concurrent requests each consume their own fault.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = ["Fault", "FaultKind", "FaultQueue", "status_fault"]

FaultKind = Literal["status", "disconnect", "delay", "malformed"]


@attrs.frozen
class Fault:
    """One injected fault.

    ``status`` answers ``status`` with ``body`` (a JSON error when None) and ``headers``;
    ``disconnect`` drops the connection without answering; ``delay`` sleeps ``seconds`` and then
    handles the request normally; ``malformed`` answers 200 with ``body``.
    """

    kind: FaultKind
    status: int = 200
    body: bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str])
    seconds: float = 0.0

    @property
    def label(self) -> str:
        """A short description for the trace, e.g. ``status:503``."""
        if self.kind == "status":
            return f"status:{self.status}"
        if self.kind == "delay":
            return f"delay:{self.seconds:g}s"
        return self.kind


def status_fault(
    status: int,
    *,
    retry_after: str | None = None,
    retry_after_ms: int | None = None,
    body: bytes | str | None = None,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fault:
    """Build a ``status`` fault (checked: 100..599), with its ``Retry-After`` headers."""
    if type(status) is not int or not 100 <= status <= 599:  # bool is no status
        raise ValueError(f"status must be an integer 100..599, got {status!r}")
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = retry_after
    if retry_after_ms is not None:
        extra["retry-after-ms"] = str(retry_after_ms)
    data = body.encode() if isinstance(body, str) else body
    return Fault("status", status=status, body=data, content_type=content_type, headers=extra)


@attrs.define
class _Pending:
    fault: Fault
    remaining: int


class FaultQueue:
    """The pending faults, each with how many requests it still applies to."""

    def __init__(self) -> None:
        self._queue: collections.deque[_Pending] = collections.deque()

    def add(self, fault: Fault, times: int) -> None:
        """Apply ``fault`` to the next ``times`` requests (after those already queued)."""
        if isinstance(times, bool) or times < 1:
            raise ValueError(f"times must be an integer >= 1, got {times!r}")
        self._queue.append(_Pending(fault, times))

    def take(self) -> Fault | None:
        """Consume and return the next fault, or None when none is pending."""
        if not self._queue:
            return None
        head = self._queue[0]
        head.remaining -= 1
        if head.remaining == 0:
            self._queue.popleft()
        return head.fault

    def __len__(self) -> int:
        """The number of requests the pending faults still apply to."""
        return sum(pending.remaining for pending in self._queue)

    def clear(self) -> None:
        """Drop every pending fault."""
        self._queue.clear()
