"""Prepare an image-edit call: structure and validate the body, inspect the files, lay out the
multipart body. No network I/O; the only I/O is reading file heads and sizes.

Every problem is collected with its path into one :class:`SDKValidationError`, so that a
caller fixes them all at once; nothing is sent unless this succeeds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orq_async._convert import MODELLED_FIELDS, check_extra_files, structure_request
from orq_async._files import NamedPart, prepare_files, prepare_in_memory
from orq_async._multipart import EncodedBody, encode_body, field_head, new_boundary, render_fields
from orq_async._wire import (
    FORMS,
    UnsendableField,
    WireField,
    extra_wire_fields,
    list_parts,
    wire_fields,
)
from orq_async.errors import Problem, SDKValidationError
from orq_async.models.request import CreateImageEditRequestBody
from orq_async.options import RequestOptions

if TYPE_CHECKING:
    from orq_async._compiled import Flat

__all__ = ["prepare", "prepare_now"]


def prepare_now(
    body: CreateImageEditRequestBody | Mapping[str, Any], options: RequestOptions | None
) -> EncodedBody | SDKValidationError | None:
    """:func:`prepare` without awaiting, for the common call: a body the fast path takes,
    images in memory, no extra fields or files. None for any other call: await
    :func:`prepare` then."""
    if options is not None and (options.extra_fields or options.extra_files):
        return None
    boundary = new_boundary()
    wired = _wire_request(body, f"--{boundary}\r\n")
    if wired is None:
        return None
    text, image = wired
    in_memory = prepare_in_memory("image", image)
    if in_memory is None:
        return None
    files, problems = in_memory
    if problems:
        return SDKValidationError(tuple(problems))
    return _encode(body, text, files, boundary, [])


async def prepare(
    body: CreateImageEditRequestBody | Mapping[str, Any], options: RequestOptions | None
) -> EncodedBody | SDKValidationError:
    """The encoded body of one call, or every problem found in the body and options."""
    boundary = new_boundary()
    delimiter = f"--{boundary}\r\n"
    wired = _wire_request(body, delimiter)
    problems: list[Problem] = []
    text: list[str] | None
    if wired is not None:
        text, image = wired
    else:
        fields, image = _reference(body, problems)
        text = None if fields is None else render_fields(fields, delimiter)
    in_memory = prepare_in_memory("image", image)
    files, file_problems = (
        in_memory if in_memory is not None else await prepare_files("image", image)
    )
    problems += file_problems
    extra_fields: list[WireField] = []
    if options is not None and (options.extra_fields or options.extra_files):
        extra_fields, extra_problems = await _extras(options, files)
        problems += extra_problems
    if problems or text is None:
        return SDKValidationError(tuple(problems))
    return _encode(body, text, files, boundary, extra_fields)


def _encode(
    body: CreateImageEditRequestBody | Mapping[str, Any],
    text: list[str],
    files: list[NamedPart],
    boundary: str,
    extra_fields: list[WireField],
) -> EncodedBody | SDKValidationError:
    """Lay the body out; a text with no UTF-8 form (a lone surrogate) is named as a problem."""
    if extra_fields:
        text += render_fields(extra_fields, f"--{boundary}\r\n")
    try:
        return encode_body(text, files, boundary)
    except (TypeError, ValueError, RecursionError) as exc:
        fields, _ = _reference(body, [])
        return _unencodable((fields or []) + extra_fields, exc)


def _list_pieces(delimiter: str, name: str, values: Any) -> list[str]:
    return render_fields(list_parts(name, values), delimiter)


def _wire_request(body: object, delimiter: str) -> tuple[list[str], Any] | None:
    """The fast path's text pieces and file value, or None: the reference path decides."""
    flat, slow = _flat()
    try:
        wired: tuple[list[str], Any] = flat(body, delimiter)  # (a Flat returns Any)
    except Exception:  # the flat function vouches for nothing
        return None
    return None if wired is slow else wired


@functools.cache
def _flat() -> tuple[Flat, object]:
    """The body's flat function and its SLOW, generated on the first call (not at import)."""
    from orq_async._compiled import SLOW, request_wire

    heads = tuple((n, field_head(n, form == "json")) for n, form in FORMS.items() if form != "file")
    flat = request_wire(CreateImageEditRequestBody, tuple(FORMS.items()), heads, _list_pieces)
    return flat, SLOW


def _reference(
    body: CreateImageEditRequestBody | Mapping[str, Any], problems: list[Problem]
) -> tuple[list[WireField] | None, object]:
    """The reference path's wire fields (None if invalid, with ``problems`` filled in) and the
    image value to inspect."""
    try:
        model = structure_request(body)
    except SDKValidationError as exc:
        problems += exc.problems
        # The other fields failed; still inspect the files so that all problems come at once.
        image_bad = any(p.path.startswith("image") for p in exc.problems)
        image = None if image_bad or not isinstance(body, Mapping) else body.get("image")
        return None, image
    try:
        return wire_fields(model), model.image
    except UnsendableField as exc:  # e.g. an int of more digits than Python writes out
        problems.append(Problem(exc.name, str(exc)))
        return None, model.image


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
