"""``createImageEdit``: ``POST /v2/router/images/edits``, as a standalone coroutine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDictProxy

from orq_async._convert import (
    MODELLED_FIELDS,
    check_extra_files,
    parse_response,
    structure_request,
)
from orq_async._files import prepare_files
from orq_async._multipart import encode_body
from orq_async._wire import WireField, extra_wire_fields, wire_fields
from orq_async.core import OrqCore
from orq_async.errors import OrqError, Problem, ResponseValidationError, SDKValidationError
from orq_async.models.request import CreateImageEditRequestBody
from orq_async.options import RequestOptions
from orq_async.result import Ok, Result

if TYPE_CHECKING:
    from orq_async.models.response import CreateImageEditResponseBody

__all__ = ["OPERATION_ID", "PATH", "router_images_edits_create"]

OPERATION_ID = "createImageEdit"
PATH = "/v2/router/images/edits"


def _decode(
    status: int, headers: CIMultiDictProxy[str], raw: bytes
) -> Ok[CreateImageEditResponseBody] | OrqError:
    """A 2XX body → the response model, or ResponseValidationError keeping status and body."""
    content_type = headers.get("Content-Type", "")
    problem: str
    if "json" not in content_type.lower():
        problem = f"expected a JSON response, got Content-Type {content_type or '(none)'!r}"
    else:
        try:
            return Ok(parse_response(json.loads(raw)))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            problem = f"the response does not match the schema: {exc}"
        except RecursionError:
            problem = "the response JSON is nested too deeply"
    return ResponseValidationError(problem, status_code=status, headers=headers, body=raw)


async def router_images_edits_create(
    core: OrqCore,
    body: CreateImageEditRequestBody | Mapping[str, Any],
    options: RequestOptions | None = None,
) -> Result[CreateImageEditResponseBody, OrqError]:
    """Edit images: validate → encode → send → decode, returning ``Ok`` or ``Err``.

    Args:
        core: the shared :class:`OrqCore`.
        body: the request, as the model or a dict with the wire's snake_case keys.
        options: per-call options (client retries, timeout, server URL, headers).

    Returns:
        ``Ok(CreateImageEditResponseBody)``, or ``Err`` holding an :class:`OrqError`; input
        problems come back as ``Err(SDKValidationError)`` before anything is sent.

    Raises:
        TypeError: ``core`` is not an OrqCore. RuntimeError: the core is closed.
    """
    if not isinstance(core, OrqCore):
        raise TypeError(f"core must be an OrqCore, got {type(core).__name__}")
    core._ensure_open()
    problems: list[Problem] = []
    model: CreateImageEditRequestBody | None = None
    try:
        model = structure_request(body)
        raw_image = model.image
    except SDKValidationError as exc:
        problems += exc.problems
        image_bad = any(p.path.startswith("image") for p in exc.problems)
        raw_image = None if image_bad or not isinstance(body, Mapping) else body.get("image")
    files, file_problems = await prepare_files("image", raw_image)
    problems += file_problems
    extra_fields: list[WireField] = []
    if options is not None and (options.extra_fields or options.extra_files):
        extra_fields, extra_problems = extra_wire_fields(options.extra_fields)
        problems += extra_problems
        type_problems = check_extra_files(options.extra_files)
        problems += type_problems
        if not type_problems:
            for name, value in (options.extra_files or {}).items():
                more, more_problems = await prepare_files(
                    name, value, images_only=False, path=f"options.extra_files.{name}"
                )
                files += more
                problems += more_problems
    if problems or model is None:
        return await core.fail(OPERATION_ID, SDKValidationError(tuple(problems)), options)
    fields = extra_fields
    try:
        fields = wire_fields(model) + extra_fields
        encoded = encode_body(fields, files)
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a lone surrogate in a text
        return await core.fail(OPERATION_ID, _unencodable(fields, exc), options)
    return await core.request(OPERATION_ID, PATH, encoded, _decode, options)


def _unencodable(fields: list[WireField], exc: Exception) -> SDKValidationError:
    """The fields whose text has no UTF-8 form (a lone surrogate), else what failed."""
    problems: list[Problem] = []
    for name, text, _is_json in fields:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            where = name if name in MODELLED_FIELDS else f"options.extra_fields.{name}"
            problems.append(Problem(where, "must be valid Unicode text, got a lone surrogate"))
    if not problems:
        problems.append(Problem("", f"the request cannot be encoded: {type(exc).__name__}: {exc}"))
    return SDKValidationError(tuple(problems))
