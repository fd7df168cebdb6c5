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
    ├── APIConnectionError           the connection failed or broke
    │   └── APITimeoutError          no complete response within the timeout
    ├── InvalidRequestError          a request that cannot be built (bad URL, CR/LF in a header)
    ├── SDKValidationError           bad input, every problem listed with its path
    ├── ResponseValidationError      a 2XX body that is not JSON or not of the schema
    └── UnexpectedClientError        anything else that went wrong inside the client

Messages never contain the API key: the core redacts it from anything taken from a response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
    "RateLimitError",
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


class APIError(OrqError):
    """The server answered with a non-2XX status.

    Attributes:
        status_code: the HTTP status.
        headers: the response headers.
        body: the response body as text (decoded leniently).
        json: the parsed body when it was JSON, else None.
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
        self.json: Any = _parse_json(body)
        super().__init__(f"HTTP {status_code}: {_summary(self.json, body)}")


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


def _summary(parsed: Any, body: str) -> str:
    """The error's message from a JSON body (`error.message`, `message`, ...) or the text."""
    if isinstance(parsed, dict):
        inner = parsed.get("error", parsed)
        if isinstance(inner, dict):
            inner = inner.get("message", inner.get("detail"))
        if isinstance(inner, str) and inner:
            return inner[:_BODY_IN_MESSAGE]
    text = " ".join(body.split())
    if not text:
        return "(empty body)"
    return text if len(text) <= _BODY_IN_MESSAGE else text[:_BODY_IN_MESSAGE] + "…"
