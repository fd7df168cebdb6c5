"""The errors an operation returns inside ``Err``; all are ``Exception`` subclasses.

    OrqError
    ├── APIError                     any non-2XX response (3XX redirects are not followed)
    │   ├── BadRequestError          400
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── UnprocessableEntityError 422
    │   ├── RateLimitError           429
    │   └── InternalServerError      5XX
    ├── APIConnectionError           the connection failed or broke, or the server's HTTP was
    │   │                            malformed (bad status line, bad chunking, unknown encoding)
    │   └── APITimeoutError          no complete response within the timeout
    ├── ResponseTooLargeError        the response (decompressed) exceeded max_response_bytes
    ├── InvalidRequestError          a request that cannot be built (bad URL, CR/LF in a header)
    ├── SDKValidationError           bad input, every problem listed with its path
    │   └── InputStreamError         a source of yours failed while the body was sent (a file
    │                                changed size or vanished, a stream raised, a callback raised)
    ├── ResponseValidationError      a 2XX body that is not JSON or not of the schema
    └── UnexpectedClientError        anything else that went wrong inside the client

Which are retried (when the retry policy asks): ``APIError`` by status, ``APIConnectionError``
when ``retry_connection_errors``; never ``ResponseTooLargeError``, ``InputStreamError`` or the
other input errors. Every error pickles and copies with its fields (an ``Err`` may cross a
process boundary); the original exception, when there is one, is ``__cause__`` (not pickled).

Messages never contain the API key: the core redacts it from anything taken from a response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "OrqError",
    "PermissionDeniedError",
    "Problem",
    "InputStreamError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SDKValidationError",
    "UnexpectedClientError",
    "UnprocessableEntityError",
    "api_error_for_status",
]

_BODY_IN_MESSAGE = 300


class OrqError(Exception):
    """Base of every error this SDK returns."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy by state, whatever the subclass's ``__init__`` takes."""
        state = dict(self.__dict__)
        headers = state.get("headers")
        if headers is not None and not isinstance(headers, (dict, tuple)):
            from multidict import CIMultiDict  # aiohttp's headers proxy does not pickle

            state["headers"] = CIMultiDict(headers)
        return (_rebuild, (type(self), self.args, state))


def _rebuild(cls: type[OrqError], args: tuple[Any, ...], state: dict[str, Any]) -> OrqError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class APIError(OrqError):
    """The server answered with a non-2XX status.

    The gateway's JSON errors are ``{"error": {"code", "message", "param", "type",
    "failures"?}}``; :attr:`code`, :attr:`param`, :attr:`type`, :attr:`error_message` and
    :attr:`failures` read that object (or a bare top-level one), each ``None`` when absent or
    not of its type. ``message`` stays the exception's whole message (``HTTP 404: ...``).

    Attributes:
        status_code: the HTTP status.
        headers: the response headers.
        body: the response body as text (decoded leniently).
        json: the parsed body when it was JSON (an object or an array), else None.
        request_id: the server's request id, if it sent one.
    """

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        body: str,
        *,
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.request_id = request_id
        self.json: dict[str, object] | list[object] | None = _parse_json(body)
        super().__init__(f"HTTP {status_code}: {_summary(self.json, body)}")

    @property
    def error(self) -> dict[str, object] | None:
        """The body's ``error`` object (or the body itself when it has none), if JSON."""
        parsed = self.json
        if not isinstance(parsed, dict):
            return None
        inner = parsed.get("error", parsed)
        if not isinstance(inner, dict):
            return None
        return cast("dict[str, object]", inner)  # a JSON object's keys are str

    def _text(self, key: str) -> str | None:
        value = (self.error or {}).get(key)
        return value if isinstance(value, str) else None

    @property
    def code(self) -> str | None:
        """``error.code``: the gateway's machine-readable error code."""
        return self._text("code")

    @property
    def param(self) -> str | None:
        """``error.param``: the request field the error is about."""
        return self._text("param")

    @property
    def type(self) -> str | None:
        """``error.type``: the error's kind, e.g. ``"invalid_request_error"``."""
        return self._text("type")

    @property
    def error_message(self) -> str | None:
        """``error.message``: the server's own message, untruncated."""
        return self._text("message")

    @property
    def failures(self) -> object:
        """``error.failures``: details the gateway may add (any JSON), or None."""
        return (self.error or {}).get("failures")


class BadRequestError(APIError):
    """400 Bad Request."""


class AuthenticationError(APIError):
    """401 Unauthorized: missing or wrong API key."""


class PermissionDeniedError(APIError):
    """403 Forbidden."""


class NotFoundError(APIError):
    """404 Not Found."""


class UnprocessableEntityError(APIError):
    """422 Unprocessable Entity."""


class RateLimitError(APIError):
    """429 Too Many Requests."""


class InternalServerError(APIError):
    """Any 5XX status."""


class APIConnectionError(OrqError):
    """The connection could not be made, or broke before a complete response."""


class APITimeoutError(APIConnectionError):
    """No complete response arrived within the timeout."""


class InvalidRequestError(OrqError):
    """The request cannot be built (a bad server URL, CR/LF in a header value, ...)."""


@attrs.frozen
class Problem:
    """One problem in the input: where (``orq.retry.count``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SDKValidationError(OrqError):
    """The input is invalid; nothing was sent. ``problems`` lists every problem found."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"{count} {noun} in the request: {listed}")


class ResponseValidationError(OrqError):
    """A 2XX response whose body is not valid JSON or does not match the schema."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        super().__init__(message)


class InputStreamError(SDKValidationError):
    """A source of the caller's failed while the body was being sent; never retried.

    A file that changed size or disappeared after it was inspected, an async iterable that
    raised or yielded ``str``, an ``upload_progress`` callback that raised. ``problems`` names
    the field (``image[0]``); ``__cause__`` is the original exception, if there was one. The
    request was cut short, so the server saw a broken body and billed nothing.
    """


class ResponseTooLargeError(OrqError):
    """The response body (after decompression) exceeded ``max_response_bytes``; never retried.

    Reading stopped at the cap and the connection was closed. A successful, paid edit may have
    been lost this way: raise the cap (``OrqCore(max_response_bytes=...)``) rather than retry.

    Attributes:
        status_code: the HTTP status of the response.
        headers: the response headers.
        limit: the cap in bytes that was exceeded.
    """

    def __init__(self, status_code: int, headers: Mapping[str, str], limit: int) -> None:
        self.status_code = status_code
        self.headers = headers
        self.limit = limit
        super().__init__(
            f"the HTTP {status_code} response is larger than max_response_bytes ({limit} bytes)"
        )


class UnexpectedClientError(OrqError):
    """Something unexpected failed inside the client; ``__cause__`` holds the original."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def api_error_for_status(status: int) -> type[APIError]:
    """Return the APIError subclass for an HTTP status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIError)


def _parse_json(body: str) -> Any:
    if not body or body.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a body nested deeper than the stack
        return None


def _summary(parsed: object, body: str) -> str:
    """The error's message from a JSON body (`error.message`, `message`, ...) or the text."""
    if isinstance(parsed, dict):
        top = cast("dict[object, object]", parsed)
        inner = top.get("error", top)
        if isinstance(inner, dict):
            fields = cast("dict[object, object]", inner)
            inner = fields.get("message", fields.get("detail"))
        if isinstance(inner, str) and inner:
            return inner[:_BODY_IN_MESSAGE]
    text = " ".join(body.split())
    if not text:
        return "(empty body)"
    return text if len(text) <= _BODY_IN_MESSAGE else text[:_BODY_IN_MESSAGE] + "…"
