"""Straight-line functions generated once per model from its attrs fields: the fast path.

The hooks of :mod:`orq_async._structure` are the reference: they check everything and collect
every problem with its path, at the price of a hook call, a closure and a spec tuple per field,
and the request then goes model → plain data → JSON → parts → layout in separate passes. This
module writes, per model, one flat function for the common case only (exact builtin types, no
unknown keys, valid values) and returns :data:`SLOW` for anything else: a subclass, a float
where an int goes, an unknown key, a value a validator refuses, any exception. The caller then
runs the reference path, which gives the same result or the problems. A fast result is
therefore always the reference's; ``tests/test_compiled.py`` checks that they agree.

- :func:`request_wire`: the request body (dict or model) → the text pieces of its multipart
  layout (non-file parts, delimiters included) and the file field's value, in one pass; the
  option objects inside are checked inline and written as JSON (fields in order, those at
  their default left out, as ``json`` of :func:`orq_async._convert.to_plain` gives);
- :func:`response_model`: a decoded JSON response → the response model, leniently (unknown
  keys into ``extra``), as the reference response hook does.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, Union, get_args, get_origin

import attrs

from orq_async._slots import slot_setters
from orq_async._structure import image_hook, str_dict
from orq_async.models._validators import condition, parts
from orq_async.models.files import FileInput

__all__ = ["SLOW", "Flat", "Pieces", "request_wire", "response_model"]


class _Slow:
    __slots__ = ()

    def __repr__(self) -> str:
        return "SLOW"


SLOW: Final[Any] = _Slow()
"""Returned when the flat function cannot vouch for the value: ask the reference path."""

Flat = Callable[..., Any]
"""A generated function: the value, or :data:`SLOW`."""
Pieces = Callable[[str, str, Any], "list[str]"]
"""``(delimiter, name, value) → text pieces``: how a list field travels."""

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode_str = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept


class _Writer:
    """Source lines of one generated function, with the names its body refers to."""

    def __init__(self, cls: type[Any]) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"SLOW": SLOW, "cls": cls}

    def name(self, value: Any, stem: str) -> str:
        """A global name for ``value`` in the generated code."""
        key = f"{stem}_{len(self.names)}"
        self.names[key] = value
        return key

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def build(self) -> Flat:
        namespace = dict(self.names)
        code = compile(
            "\n".join(self.lines), f"<orq_async flat {self.names['cls'].__name__}>", "exec"
        )
        exec(code, namespace)  # our own generated source: no outside text goes in
        fn: Flat = namespace["flat"]
        return fn


def _optional_inner(t: Any) -> Any | None:
    """``X`` of ``X | None`` (None if ``t`` is not optional)."""
    if get_origin(t) in (Union, types.UnionType) and type(None) in get_args(t):
        rest = [a for a in get_args(t) if a is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


def _exact_str(t: Any) -> bool:
    """Whether the checks emitted for ``t`` let only an exact ``str`` (or None) through: then
    the value is its own text, ``str()`` of it a copy of nothing."""
    t = _optional_inner(t) or t
    return t is str or (get_origin(t) is Literal and all(type(a) is str for a in get_args(t)))


def _is_image(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType) and FileInput in get_args(t)


def _check(w: _Writer, depth: int, t: Any, var: str, mode: str) -> None:
    """Emit the check of ``var`` against type ``t``, and its conversion by ``mode``:

    - ``"check"``: none (a text part: ``str(value)`` is its wire form);
    - ``"json"``: ``<var>_j`` is its JSON text (``var`` itself is kept for the validator);
    - ``"model"``: ``var`` becomes the response value (nested models, tuples).
    """
    as_json = mode == "json"
    if _is_image(t):
        # bytes need no check here (inspected later); anything else, the reference's check
        w.emit(
            depth, f"if {var}.__class__ is not bytes: {w.name(image_hook, 'image')}({var}, None)"
        )
        return
    inner = _optional_inner(t)
    if inner is not None:
        if as_json:
            w.emit(depth, f"{var}_j = 'null'")
        w.emit(depth, f"if {var} is not None:")
        _check(w, depth + 1, inner, var, mode)
        return
    if t is Any:
        if as_json:
            w.emit(depth, f"{var}_j = {w.name(_JSON.encode, 'any_json')}({var})")
    elif t in (str, int, float) or get_origin(t) is Literal:
        _check_scalar(w, depth, t, var)
        if as_json:
            to_json = _encode_str if t is str or get_origin(t) is Literal else t.__repr__
            w.emit(depth, f"{var}_j = {w.name(to_json, 'to_json')}({var})")
    elif t == dict[str, Any]:
        w.emit(depth, f"{var} = {w.name(str_dict, 'str_dict')}({var}, None)")
        if as_json:
            w.emit(depth, f"{var}_j = {w.name(_JSON.encode, 'any_json')}({var})")
    elif get_origin(t) is Sequence:
        _check_sequence(w, depth, get_args(t)[0], var, mode)
    elif attrs.has(t) and mode == "json":
        _object_json(w, depth, t, var)
    elif attrs.has(t) and mode == "model":
        w.emit(depth, f"{var} = {w.name(response_model(t), 'flat')}({var})")
        w.emit(depth, f"if {var} is SLOW: return SLOW")
    else:  # a type this module does not know: always the reference path
        w.emit(depth, "return SLOW")


def _check_scalar(w: _Writer, depth: int, t: Any, var: str) -> None:
    if t in (str, int):
        w.emit(depth, f"if {var}.__class__ is not {t.__name__}: return SLOW")
    elif t is float:  # finite floats only (x - x is NaN for inf and NaN); ints go the slow way
        w.emit(depth, f"if {var}.__class__ is not float or {var} - {var} != 0: return SLOW")
    elif all(type(a) is str for a in get_args(t)):
        allowed = w.name(frozenset(get_args(t)), "allowed")
        w.emit(depth, f"if {var}.__class__ is not str or {var} not in {allowed}: return SLOW")
    else:
        w.emit(depth, "return SLOW")


def _check_sequence(w: _Writer, depth: int, item_t: Any, var: str, mode: str) -> None:
    item, items = f"{var}_i", f"{var}_l"
    w.emit(depth, f"if {var}.__class__ is not list and {var}.__class__ is not tuple: return SLOW")
    w.emit(depth, f"{items} = []")
    w.emit(depth, f"for {item} in {var}:")
    _check(w, depth + 1, item_t, item, mode)
    if mode == "json":
        w.emit(depth + 1, f"{items}.append({item}_j)")
        w.emit(depth, f"{var}_j = '[' + ','.join({items}) + ']'")
    elif mode == "model":
        w.emit(depth + 1, f"{items}.append({item})")
        w.emit(depth, f"{var} = tuple({items})")


def _fields_in(cls: type[Any], order: Sequence[str] = ()) -> list[attrs.Attribute[Any]]:
    """The model's fields, those named in ``order`` first, in that order."""
    return sorted(
        attrs.fields(attrs.resolve_types(cls)),
        key=lambda f: order.index(f.name) if f.name in order else len(order),
    )


def _open(w: _Writer, depth: int, cls: type[Any], fields: Sequence[Any], var: str) -> None:
    """Emit the start of an object's code: an instance of ``cls`` becomes a dict of its
    fields; anything else but a dict is the reference's business."""
    as_dict = ", ".join(f"{f.name!r}: {var}.{f.name}" for f in fields)
    w.emit(depth, f"if {var}.__class__ is {w.name(cls, 'cls')}: {var} = {{{as_dict}}}")
    w.emit(depth, f"elif {var}.__class__ is not dict: return SLOW")
    w.emit(depth, f"{var}_seen = 0")


def _field(w: _Writer, depth: int, owner: str, f: attrs.Attribute[Any], mode: str) -> int:
    """Emit the lookup, check and validation of one request field of the object in
    ``owner`` (a required one missing is the reference's business); return the depth of the
    code that runs only when the field is present, whose value is in ``<owner>_<name>``."""
    var = f"{owner}_{f.name}"
    if f.default is attrs.NOTHING:
        w.emit(depth, f"if {f.name!r} not in {owner}: return SLOW")
    else:  # ``in`` then ``[]`` (an exact dict): an absent key costs no call
        w.emit(depth, f"if {f.name!r} in {owner}:")
        depth += 1
    w.emit(depth, f"{var} = {owner}[{f.name!r}]")
    w.emit(depth, f"{owner}_seen += 1")
    _check(w, depth, f.type, var, mode)
    for validator in parts(f.validator) if f.validator is not None else ():
        check = condition(validator)
        if check is not None:  # the validator's own test, inline
            w.emit(depth, f"if not ({check.replace('{v}', var)}): return SLOW")
        else:
            w.emit(depth, f"{w.name(validator, 'validator')}(None, {w.name(f, 'field')}, {var})")
    return depth


def _object_json(w: _Writer, depth: int, cls: type[Any], var: str) -> None:
    """Emit the check of the option object in ``var`` (dict or instance) and its JSON text in
    ``<var>_j``: fields in order, those at their default left out (as ``json`` of
    :func:`orq_async._convert.to_plain` of the structured model gives)."""
    fields = _fields_in(cls)
    _open(w, depth, cls, fields, var)
    w.emit(depth, f"{var}_out = []")
    for f in fields:
        inner = _field(w, depth, var, f, "json")
        value, key = f"{var}_{f.name}", w.name(f'"{f.name}":', "key")  # names need no escaping
        add = f"{var}_out.append({key} + {value}_j)"
        if f.default is attrs.NOTHING:
            w.emit(inner, add)
        elif isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            w.emit(inner, "return SLOW")  # a default made per instance: the reference decides
        elif f.default is None:
            w.emit(inner, f"if {value} is not None: {add}")
        else:  # left out at its default, as the converter's omit_if_default does
            w.emit(inner, f"if {value} != {w.name(f.default, 'default')}: {add}")
    w.emit(depth, f"if {var}_seen != len({var}): return SLOW")
    w.emit(depth, f"{var}_j = '{{' + ','.join({var}_out) + '}}'")


@functools.cache
def request_wire(
    cls: type[Any],
    forms: tuple[tuple[str, str], ...],
    heads: tuple[tuple[str, str], ...],
    list_pieces: Pieces,
) -> Flat:
    """The flat function of the request body: ``(src, delimiter) → (text pieces, file value)``
    or :data:`SLOW`.

    ``forms`` gives each field's wire form in wire order (``text``, ``json``, ``list`` or
    ``file``), ``heads`` the part head of each text and JSON field. The pieces are the layout
    of the non-file parts as the reference path (:func:`orq_async._wire.wire_fields`, then
    :func:`orq_async._multipart.render_fields`) lays them out; None fields are not sent.
    """
    form, head = dict(forms), dict(heads)
    fields = _fields_in(cls, tuple(form))
    w = _Writer(cls)
    w.emit(0, "def flat(src, delim):")
    _open(w, 1, cls, fields, "src")
    w.emit(1, "t = []")
    w.emit(1, "file = None")
    for f in fields:
        kind = form.get(f.name)
        depth = _field(w, 1, "src", f, "json" if kind == "json" else "check")
        var = f"src_{f.name}"
        if kind in ("text", "json"):
            text = f"{var}_j" if kind == "json" else var if _exact_str(f.type) else f"str({var})"
            part_head = w.name(head[f.name], "head")
            w.emit(depth, f"if {var} is not None: t += (delim, {part_head}, {text}, '\\r\\n')")
        elif kind == "list":
            pieces = w.name(list_pieces, "list_pieces")
            w.emit(depth, f"if {var} is not None: t += {pieces}(delim, {f.name!r}, {var})")
        elif kind == "file":
            w.emit(depth, f"file = {var}")
        else:
            w.emit(depth, "return SLOW")
    w.emit(1, "if src_seen != len(src): return SLOW")
    w.emit(1, "return t, file")
    return w.build()


@functools.cache
def response_model(cls: type[Any]) -> Flat:
    """The flat function of a response model: a JSON dict → the model, or :data:`SLOW`.

    Lenient as the reference hook: keys the model does not know go into ``extra``.
    """
    every = attrs.fields(attrs.resolve_types(cls))
    fields = [f for f in every if f.name != "extra"]
    w = _Writer(cls)
    w.emit(0, "def flat(src):")
    if any(isinstance(f.default, attrs.Factory) for f in every):  # type: ignore[arg-type]
        w.emit(1, "return SLOW")  # a default made per instance: the reference decides
        return w.build()
    w.emit(1, "if src.__class__ is not dict: return SLOW")
    w.emit(1, "seen = 0")
    for f in fields:
        var = f"v_{f.name}"
        if f.default is attrs.NOTHING:
            w.emit(1, f"if {f.name!r} not in src: return SLOW")
        else:
            w.emit(1, f"if {f.name!r} in src:")
        depth = 1 if f.default is attrs.NOTHING else 2
        w.emit(depth, f"{var} = src[{f.name!r}]")
        w.emit(depth, "seen += 1")
        _check(w, depth, f.type, var, "model")
        if f.default is not attrs.NOTHING:  # absent: its default (what attrs would set)
            w.emit(1, f"else: {var} = {w.name(f.default, 'default')}")
    known = w.name(frozenset(f.name for f in fields), "known")
    extra = w.name(attrs.fields_dict(cls)["extra"].default, "default")
    w.emit(1, f"extra = {extra} if seen == len(src) else {{")
    w.emit(2, f"k: x for k, x in src.items() if k not in {known}")
    w.emit(1, "}")
    _construct(w, cls, [*(f"v_{f.name}" for f in fields), "extra"])
    return w.build()


def _construct(w: _Writer, cls: type[Any], values: Sequence[str]) -> None:
    """Emit the return of an instance of ``cls`` from ``values`` (its fields' variables, in
    field order): slot by slot when its ``__init__`` only stores (:func:`slot_setters`)."""
    setters = slot_setters(cls)
    if setters is None:
        fields = attrs.fields(cls)
        args = ", ".join(f"{f.name}={v}" for f, v in zip(fields, values, strict=True))
        w.emit(1, f"return cls({args})")
        return
    w.emit(1, f"o = {w.name(object.__new__, 'new')}(cls)")
    for setter, value in zip(setters, values, strict=True):
        w.emit(1, f"{w.name(setter, 'set')}(o, {value})")
    w.emit(1, "return o")
