"""Pure classification of one attempt: success, retryable, or error; no I/O here.

:func:`classify` turns what :func:`orq_async._http.send_once` returned into an
:class:`Attempt`: a 2XX keeps its body bytes for decoding (done once, after the retry loop),
a non-2XX becomes the :class:`~orq_async.errors.APIError` for its status, with every text taken
from the server redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from orq_async._http import RawResponse, TransportFailure
from orq_async._redact import Redactor
from orq_async.errors import OrqError, api_error_for_status
from orq_async.retries import parse_retry_after

__all__ = ["Attempt", "classify"]

_NO_HEADERS: Mapping[str, str] = {}
_UNPARSED = -1.0  # parse_retry_after never returns a negative wait


class Attempt:
    """One attempt's outcome: the 2XX body bytes or an error, and what the server said.

    A plain slotted class, not attrs: it is private and made once per attempt.
    """

    __slots__ = (
        "_retry_after",
        "connection_failed",
        "headers",
        "outcome",
        "request_id",
        "status",
        "timed_out",
    )

    def __init__(
        self,
        outcome: bytes | OrqError,
        status: int | None = None,
        headers: Mapping[str, str] = _NO_HEADERS,
        request_id: str | None = None,
        *,
        connection_failed: bool = False,
        timed_out: bool = False,
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.headers = headers
        self.connection_failed = connection_failed
        self.timed_out = timed_out
        self.request_id = request_id
        self._retry_after: float | None = _UNPARSED

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, if it did (parsed once: the throttle and the
        retry wait both ask)."""
        asked = self._retry_after
        if asked == _UNPARSED:
            asked = self._retry_after = parse_retry_after(self.headers) if self.headers else None
        return asked

    def should_retry(self, codes: Callable[[int], bool], connection_errors: bool) -> bool:
        """Retry a listed non-2XX status, or a connection failure when those are retried."""
        if self.connection_failed:
            return connection_errors
        return self.status is not None and not 200 <= self.status < 300 and codes(self.status)


def classify(sent: RawResponse | TransportFailure, redactor: Redactor) -> Attempt:
    """The attempt's outcome; texts from the server are redacted of the key in every form."""
    if isinstance(sent, TransportFailure):
        return Attempt(sent.error, connection_failed=sent.connection, timed_out=sent.timed_out)
    status, headers = sent.status, sent.headers
    request_id = headers.get("x-request-id") or headers.get("request-id")
    if request_id is not None:
        request_id = redactor.text(request_id)
    if 200 <= status < 300:
        return Attempt(sent.body, status, headers, request_id)  # positional: the hot path
    text = redactor.text(sent.body.decode("utf-8", "replace"))
    headers = redactor.headers(headers)  # errors travel (pickled, logged): never the key
    error = api_error_for_status(status)(status, headers, text, request_id=request_id)
    if error.json is not None:
        error.json = redactor.value(error.json)
    return Attempt(error, status, headers, request_id=request_id)
