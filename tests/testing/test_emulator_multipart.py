"""The emulator's multipart parser, cross-checked against an independent parser (``multipart``)."""

from __future__ import annotations

import io

import multipart  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orq_async.testing._errors import GatewayError
from orq_async.testing._form import boundary_of, parse_multipart
from orq_async.testing._parse import build_request

BOUNDARY = "----emu-b0undary-7MA4YWxk"

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"%\\;'),
    min_size=1,
    max_size=20,
)
# Bytes that try hard to look like delimiters without being one.
payloads = st.lists(
    st.sampled_from([b"\r\n", b"--", b"\r\n--", BOUNDARY[:-1].encode(), b"x", b"\x00\xff", b" "])
    | st.binary(max_size=40),
    max_size=12,
).map(b"".join)
parts = st.lists(st.tuples(names, st.none() | names, payloads), min_size=1, max_size=6)


def encode(items: list[tuple[str, str | None, bytes]], preamble: bytes = b"") -> bytes:
    out = [preamble]
    for name, filename, data in items:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + data + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


@settings(max_examples=200, deadline=None)
@given(items=parts, preamble=st.sampled_from([b"", b"preamble\r\n"]))
def test_agrees_with_an_independent_parser(
    items: list[tuple[str, str | None, bytes]], preamble: bytes
) -> None:
    body = encode(items, preamble)
    ours = [(p.name, p.filename, p.data) for p in parse_multipart(body, BOUNDARY)]
    theirs = []
    for part in multipart.MultipartParser(io.BytesIO(body), BOUNDARY):
        theirs.append((part.name, part.filename, part.raw))
        part.close()
    assert ours == theirs == items


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=abc", "abc"),
        ('Multipart/Form-Data; charset=utf-8; boundary="a b:c"', "a b:c"),
    ],
)
def test_boundary_of(content_type: str, boundary: str) -> None:
    assert boundary_of(content_type) == boundary


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "multipart/form-data", "multipart/mixed; boundary=x"],
)
def test_boundary_of_refuses(content_type: str | None) -> None:
    with pytest.raises(GatewayError) as info:
        boundary_of(content_type)
    assert info.value.status == 400


def test_unquoted_parameters_and_empty_parts() -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=model\r\n\r\n\r\n"
        b'--b\r\ncontent-disposition: form-data;name="f";filename=""\r\n'
        b"Content-Type: image/png\r\n\r\nxy\r\n--b--"
    )
    first, second = parse_multipart(body, "b")
    assert (first.name, first.data, first.is_file) == ("model", b"", False)
    assert (second.name, second.filename, second.data, second.is_file) == ("f", "", b"xy", True)


def _valid_body() -> bytes:
    fields = [
        ("model", None, b"local/echo"),
        ("prompt", None, b"p"),
        ("n", None, b"2"),
        ("orq", None, b'{"retry": {"count": 2}, "identity": {"id": "c"}}'),
        ("image", "a.png", b"\x89PNG\r\n\x1a\n" + bytes(20)),
    ]
    return encode(fields)


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=len(_valid_body())),
    flips=st.lists(
        st.tuples(st.integers(0, len(_valid_body()) - 1), st.integers(0, 255)), max_size=4
    ),
)
def test_mangled_bodies_give_a_request_or_a_4xx(cut: int, flips: list[tuple[int, int]]) -> None:
    body = bytearray(_valid_body())
    for index, value in flips:
        body[index] = value
    status = 200
    try:
        build_request(parse_multipart(bytes(body[:cut]), BOUNDARY))
    except GatewayError as exc:
        status = exc.status
    assert status == 200 or 400 <= status < 500
