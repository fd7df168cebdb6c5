"""The operation's identity on the wire: its id and path (:mod:`orq_async.contract` re-exports
both, so the emulator and the SDK name them from one place)."""

from __future__ import annotations

__all__ = ["OPERATION_ID", "PATH"]

OPERATION_ID = "createImageEdit"
PATH = "/v2/router/images/edits"
