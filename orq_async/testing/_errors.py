"""The emulator's error type and the JSON error bodies it answers with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["GatewayError", "error_body"]


class GatewayError(Exception):
    """A failure the emulator answers as a JSON error with an HTTP status.

    Args:
        status: the HTTP status to answer.
        message: a human-readable explanation.
        param: the path of the offending field (``orq.retry.count``), when there is one.
        type: the error family, e.g. ``invalid_request_error``.
        code: a short machine-readable code, e.g. ``invalid_value``.
        headers: response headers to send with it (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        type: str = "invalid_request_error",
        code: str = "invalid_value",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.type = type
        self.code = code
        self.headers = dict(headers or {})

    def to_json(self) -> dict[str, Any]:
        """Return the error as the wire object ``{"error": {...}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def error_body(error: GatewayError) -> bytes:
    """Serialise an error to the bytes of its JSON body."""
    return json.dumps(error.to_json()).encode()
