"""The converter's structure hooks: strict for requests, lenient for responses.

Request hooks check types strictly (no ``str(5)``, no ``int(3.7)``), run each field's attrs
validator on its own, refuse unknown keys with a did-you-mean, and collect every problem with
its path instead of stopping at the first. Response hooks keep unknown keys in ``extra``.
:func:`make_converter` wires them into the one cattrs converter.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, cast, get_args, get_origin

import attrs
import cattrs

from orq_async.models import limits
from orq_async.models._validators import ItemErrors
from orq_async.models.files import FileInput
from orq_async.models.request import CreateImageEditRequestBody

__all__ = ["Hook", "Invalid", "Path", "format_path", "image_hook", "make_converter", "str_dict"]

Path = tuple[str | int, ...]
Hook = Callable[[Any, Any], Any]


class Invalid(Exception):
    """Problems found below some point, with paths relative to it."""

    def __init__(self, problems: list[tuple[Path, str]]) -> None:
        super().__init__()
        self.problems = problems


def _fail(message: str) -> Invalid:
    return Invalid([((), message)])


def _kind(value: object) -> str:
    return type(value).__name__


def format_path(path: Path) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


# -- strict scalar hooks -------------------------------------------------------------------------


def _strict_str(value: Any, _t: Any) -> str:
    if not isinstance(value, str):
        raise _fail(f"must be a string, got {_kind(value)}")
    return value


def _strict_int(value: Any, _t: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _fail(
        f"must be an integer, got {value!r}"
        if isinstance(value, float)
        else f"must be an integer, got {_kind(value)}"
    )


def _strict_float(value: Any, _t: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range: math.isfinite() would raise too
            raise _fail("must be a finite number, got an integer too large for one") from None
        if not math.isfinite(number):
            raise _fail(f"must be a finite number, got {value!r}")
        return number
    raise _fail(f"must be a number, got {_kind(value)}")


def _any(value: Any, _t: Any) -> Any:
    return value


def str_dict(value: object, _t: object) -> dict[str, Any]:
    """A free-form JSON object (``Identity.metadata`` items): string keys, JSON values."""
    if not isinstance(value, dict):
        raise _fail(f"must be an object with string keys, got {_kind(value)}")
    value = cast("dict[object, Any]", value)
    if not all(isinstance(k, str) for k in value):
        raise _fail(f"must be an object with string keys, got {_kind(value)}")
    try:  # free-form values travel as JSON: they must be JSON (no NaN, bytes, sets...)
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise _fail(f"must be JSON-serialisable: {type(exc).__name__}: {exc}") from None
    return cast("dict[str, Any]", value)


# -- hook factories ------------------------------------------------------------------------------


def _literal_hook(t: Any) -> Hook:
    allowed = get_args(t)
    listed = ", ".join(repr(a) for a in allowed)

    def hook(value: Any, _t: Any) -> Any:
        if value not in allowed or isinstance(value, bool):
            raise _fail(f"must be one of {listed}, got {value!r}")
        return value

    return hook


def _is_image_type(t: Any) -> bool:
    return get_origin(t) is Union and FileInput in get_args(t)


def _is_optional(t: Any) -> bool:
    # ``X | None`` of classes is a types.UnionType, not a typing.Union: match both, so every
    # optional field's inner hook is looked up once, not on each value (cattrs' own hook).
    return (
        get_origin(t) in (Union, types.UnionType)
        and type(None) in get_args(t)
        and not _is_image_type(t)
    )


def _optional_hook(conv: cattrs.Converter) -> Callable[[Any], Hook]:
    def factory(t: Any) -> Hook:
        (inner,) = (a for a in get_args(t) if a is not type(None))
        inner_hook: Hook | None = None  # looked up on first use: import stays cheap

        def hook(value: Any, _t: Any) -> Any:
            nonlocal inner_hook
            if value is None:
                return None
            if inner_hook is None:
                inner_hook = conv.get_structure_hook(inner)
            return inner_hook(value, inner)

        return hook

    return factory


def _is_sequence(t: Any) -> bool:
    return get_origin(t) is Sequence


def _sequence_hook(conv: cattrs.Converter) -> Callable[[Any], Hook]:
    def factory(t: Any) -> Hook:
        (item_t,) = get_args(t)
        item_hook = conv.get_structure_hook(item_t)

        def hook(value: object, _t: object) -> tuple[Any, ...]:
            if not isinstance(value, (list, tuple)):
                raise _fail(f"must be a list, got {_kind(value)}")
            out: list[Any] = []
            problems: list[tuple[Path, str]] = []
            items: list[Any] | tuple[Any, ...] = value  # pyright: ignore[reportUnknownVariableType]
            for i, item in enumerate(items):
                try:
                    out.append(item_hook(item, item_t))
                except Invalid as exc:
                    problems += [((i, *p), m) for p, m in exc.problems]
            if problems:
                raise Invalid(problems)
            return tuple(out)

        return hook

    return factory


def _did_you_mean(key: str, names: Sequence[str]) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
    if snake in names:
        return f" (did you mean {snake!r}?)"
    import difflib  # only on this error path: not worth its import time up front

    close = difflib.get_close_matches(key, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _request_model_hook(conv: cattrs.Converter) -> Callable[[Any], Hook]:
    """Structure a request model from a dict or an instance, collecting every problem."""

    def factory(cls: Any) -> Hook:
        fields = attrs.fields(attrs.resolve_types(cls))
        names = [f.name for f in fields]
        hooks = {f.name: conv.get_structure_hook(f.type) for f in fields}
        # Everything the hook needs per field, looked up once (not per call).
        specs = [
            (f.name, hooks[f.name], f.type, f.validator, f.default is attrs.NOTHING, f)
            for f in fields
        ]
        what = cls.__name__

        def hook(value: Any, _t: Any) -> Any:
            if isinstance(value, cls):
                source: Mapping[str, Any] = {n: getattr(value, n) for n in names}
            elif isinstance(value, Mapping):
                source = cast("Mapping[str, Any]", value)
            else:
                raise _fail(f"must be an object ({what} or dict), got {_kind(value)}")
            problems: list[tuple[Path, str]] = [
                ((key,), f"unknown field{_did_you_mean(str(key), names)}")
                for key in source
                if key not in hooks
            ]
            kwargs: dict[str, Any] = {}
            for name, field_hook, field_type, validator, required, f in specs:
                if name not in source:
                    if required:
                        problems.append(((name,), "required"))
                    continue
                try:
                    item = field_hook(source[name], field_type)
                    if validator is not None:
                        validator(None, f, item)
                except Invalid as exc:
                    problems += [((name, *p), m) for p, m in exc.problems]
                except ItemErrors as exc:
                    problems += [((name, i), m) for i, m in exc.items]
                except (TypeError, ValueError) as exc:
                    problems.append(((name,), str(exc)))
                else:
                    kwargs[name] = item
            if problems:
                raise Invalid(problems)
            # Already validated field by field above: what attrs.validators.disabled() does,
            # without a context manager's cost per object.
            attrs.validators.set_disabled(True)
            try:
                return cls(**kwargs)
            finally:
                attrs.validators.set_disabled(False)

        return hook

    return factory


_URL_PREFIXES = ("http://", "https://", "data:")
_FILE_LIKE = (bytes, bytearray, memoryview, FileInput, tuple)


def _check_image(value: object) -> str | None:
    """Why ``value`` is not an accepted image input, or None (no I/O: bytes are sniffed later)."""
    if isinstance(value, str):
        if value.startswith(_URL_PREFIXES):
            return None
        return "a str image must be an http(s):// URL or a data: URI (pass a Path for a file)"
    if isinstance(value, tuple):
        value = cast("tuple[object, ...]", value)
        if len(value) not in (2, 3) or not isinstance(value[0], str):
            return "a tuple image must be (filename, content) or (filename, content, content_type)"
        if len(value) == 3 and not isinstance(value[2], str):
            return "the content type of a tuple image must be a str"
        return None
    if isinstance(value, _FILE_LIKE) or hasattr(value, "__fspath__") or hasattr(value, "read"):
        return None
    return f"unsupported image input of type {_kind(value)}"


def image_hook(value: object, _t: object) -> Any:
    if value is None:
        return None
    items = cast("list[object]", value) if isinstance(value, list) else [value]
    if len(items) > limits.MAX_IMAGES:
        raise _fail(f"at most {limits.MAX_IMAGES} images, got {len(items)}")
    bad: list[tuple[Path, str]]
    if isinstance(value, list):
        bad = [((i,), m) for i, v in enumerate(items) if (m := _check_image(v))]
    else:
        bad = [((), m)] if (m := _check_image(value)) else []
    if bad:
        raise Invalid(bad)
    return cast(Any, value)


def _response_model_hook(conv: cattrs.Converter) -> Callable[[Any], Hook]:
    """Structure a response model leniently: unknown keys go to ``extra``."""

    def factory(cls: Any) -> Hook:
        fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.name != "extra"]
        hooks = [(f.name, conv.get_structure_hook(f.type), f.type) for f in fields]
        known = {f.name for f in fields}
        required = [f.name for f in fields if f.default is attrs.NOTHING]

        def hook(value: object, _t: object) -> Any:
            if not isinstance(value, dict):
                raise _fail(f"must be an object, got {_kind(value)}")
            value = cast("dict[str, Any]", value)
            missing = [n for n in required if n not in value]
            if missing:
                raise Invalid([((n,), "required") for n in missing])
            kwargs: dict[str, Any] = {}
            problems: list[tuple[Path, str]] = []
            for name, field_hook, field_type in hooks:
                if name in value:
                    try:
                        kwargs[name] = field_hook(value[name], field_type)
                    except Invalid as exc:
                        problems += [((name, *p), m) for p, m in exc.problems]
            if problems:
                raise Invalid(problems)
            if len(value) > len(kwargs):
                kwargs["extra"] = {k: v for k, v in value.items() if k not in known}
            return cls(**kwargs)

        return hook

    return factory


_RESPONSE_MODULE = "orq_async.models.response"


def _is_response_model(t: Any) -> bool:
    return attrs.has(t) and t.__module__ == _RESPONSE_MODULE


def _is_request_model(t: Any) -> bool:
    return attrs.has(t) and t.__module__ == CreateImageEditRequestBody.__module__


def _is_any(t: object) -> bool:
    return t is Any


def _is_literal(t: object) -> bool:
    return get_origin(t) is Literal


def make_converter() -> cattrs.Converter:
    """Build the converter; called once, on first use (hooks are generated on first use too)."""
    conv = cattrs.Converter(omit_if_default=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook_func(_is_any, _any)
    conv.register_structure_hook_func(lambda t: t == dict[str, Any], str_dict)
    conv.register_structure_hook_func(_is_image_type, image_hook)
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_optional, _optional_hook(conv))
    conv.register_structure_hook_factory(_is_sequence, _sequence_hook(conv))
    conv.register_structure_hook_factory(_is_request_model, _request_model_hook(conv))
    conv.register_structure_hook_factory(_is_response_model, _response_model_hook(conv))
    return conv
