"""Prepare an image-edit call: structure and validate the body, inspect the files, lay out the
multipart body. No network I/O; the only I/O is reading file heads and sizes.

Every problem is collected with its path into one :class:`SDKValidationError`, so that a
caller fixes them all at once; nothing is sent unless this succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orq_async._convert import MODELLED_FIELDS, check_extra_files, structure_request
from orq_async._files import NamedPart, prepare_files
from orq_async._multipart import EncodedBody, encode_body
from orq_async._wire import WireField, extra_wire_fields, wire_fields
from orq_async.errors import Problem, SDKValidationError
from orq_async.models.request import CreateImageEditRequestBody
from orq_async.options import RequestOptions

__all__ = ["prepare"]


async def prepare(
    body: CreateImageEditRequestBody | Mapping[str, Any], options: RequestOptions | None
) -> EncodedBody | SDKValidationError:
    """The encoded body of one call, or every problem found in the body and options."""
    problems: list[Problem] = []
    model: CreateImageEditRequestBody | None = None
    try:
        model = structure_request(body)
        image = model.image
    except SDKValidationError as exc:
        problems += exc.problems
        # The other fields failed; still inspect the files so that all problems come at once.
        image_bad = any(p.path.startswith("image") for p in exc.problems)
        image = None if image_bad or not isinstance(body, Mapping) else body.get("image")
    files, file_problems = await prepare_files("image", image)
    problems += file_problems
    extra_fields, extra_problems = await _extras(options, files)
    problems += extra_problems
    if problems or model is None:
        return SDKValidationError(tuple(problems))
    fields = wire_fields(model) + extra_fields
    try:
        return encode_body(fields, files)
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a lone surrogate in a text
        return _unencodable(fields, exc)


async def _extras(
    options: RequestOptions | None, files: list[NamedPart]
) -> tuple[list[WireField], list[Problem]]:
    """The options' extra fields as wire fields; extra files are appended to ``files``."""
    if options is None or not (options.extra_fields or options.extra_files):
        return [], []
    fields, problems = extra_wire_fields(options.extra_fields)
    type_problems = check_extra_files(options.extra_files)
    problems += type_problems
    if not type_problems:
        for name, value in (options.extra_files or {}).items():
            more, more_problems = await prepare_files(
                name, value, images_only=False, path=f"options.extra_files.{name}"
            )
            files += more
            problems += more_problems
    return fields, problems


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
