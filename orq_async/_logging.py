"""Debug logging of the pipeline: never the key, never image bytes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from tenacity import RetryCallState
from yarl import URL

from orq_async._multipart import EncodedBody
from orq_async._redact import REDACTED, redact_headers
from orq_async.result import Ok, Result

__all__ = ["debug_logger_from_env", "log_result", "log_send", "retry_logger"]

LOGGER_NAME = "orq_async"


def debug_logger_from_env() -> logging.Logger:
    """The ``orq_async`` logger; ``ORQ_DEBUG=1`` turns it on at DEBUG, to stderr if unhandled."""
    logger = logging.getLogger(LOGGER_NAME)
    if os.environ.get("ORQ_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        logger.setLevel(logging.DEBUG)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
            logger.addHandler(handler)
    return logger


def log_send(
    log: logging.Logger, url: URL, attempt: int, body: EncodedBody, headers: Mapping[str, str]
) -> None:
    """Log an attempt about to be sent: sizes and headers (Authorization redacted)."""
    files = sum(1 for s in body.segments if not isinstance(s, bytes))
    log.debug(
        "POST %s attempt %d: body %s bytes, %d file(s) of %s bytes, headers %s",
        url,
        attempt,
        "unknown" if body.size is None else body.size,
        files,
        "unknown" if body.upload_bytes is None else body.upload_bytes,
        redact_headers(headers, REDACTED),
    )


def retry_logger(log: logging.Logger) -> Callable[[RetryCallState], None]:
    """A tenacity ``before_sleep`` logging the retry decision and the wait."""

    def before_sleep(state: RetryCallState) -> None:
        outcome: Any = state.outcome.result() if state.outcome else None
        why = outcome.status if outcome is not None and outcome.status else "connection error"
        log.debug(
            "retrying after attempt %d (%s) in %.3f s",
            state.attempt_number,
            why,
            state.upcoming_sleep,
        )

    return before_sleep


def log_result(log: logging.Logger, operation_id: str, result: Result[Any, Any]) -> None:
    """Log how a call ended."""
    what = "Ok" if isinstance(result, Ok) else f"Err({type(result.error).__name__})"
    meta = result.meta
    log.debug(
        "%s -> %s, status %s, %d attempt(s)", operation_id, what, meta.status_code, meta.attempts
    )
