"""The image-edit operation's steps, which the core runs (loaded on the first call, so that
importing the operation stays cheap): :func:`prepare` / :func:`prepare_now` (validate, inspect
the files, lay the body out) and :func:`decode` (a 2XX body into the response model)."""

from __future__ import annotations

from collections.abc import Mapping

from orq_async._convert import load_json, parse_response
from orq_async._prepare import prepare, prepare_now
from orq_async.errors import ResponseValidationError
from orq_async.models.response import CreateImageEditResponseBody

__all__ = ["decode", "prepare", "prepare_now"]


def decode(
    status: int, headers: Mapping[str, str], raw: bytes
) -> CreateImageEditResponseBody | ResponseValidationError:
    """A 2XX body → the response model, or ResponseValidationError keeping status and body."""
    content_type = headers.get("Content-Type", "")
    problem: str
    if "json" not in content_type.lower():
        problem = f"expected a JSON response, got Content-Type {content_type or '(none)'!r}"
    else:
        try:
            return parse_response(load_json(raw))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            problem = f"the response does not match the schema: {exc}"
        except RecursionError:
            problem = "the response JSON is nested too deeply"
    return ResponseValidationError(problem, status_code=status, headers=headers, body=raw)
