"""A small purpose-built ``multipart/form-data`` parser.

It works on the whole body (the emulator hashes the raw body anyway), splits it on the boundary
with ``bytes.find`` and parses the few part headers by hand, which is several times cheaper than
aiohttp's ``MultipartReader`` and keeps the emulator out of the way of load tests.

Names and filenames are read the way web-standard parsers (WHATWG ``formData()``) read them: a
quoted value runs to the next ``"`` (a backslash is not an escape), is decoded as UTF-8, and only
``%22``, ``%0D`` and ``%0A`` are unescaped. ``filename*=UTF-8''...`` (RFC 5987) is accepted too and
wins over ``filename``. Anything else malformed raises :class:`GatewayError` (400).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import attrs

from ._errors import GatewayError

__all__ = ["Part", "boundary_of", "parse_multipart"]

_WHATWG_ESCAPES = (("%0A", "\n"), ("%0a", "\n"), ("%0D", "\r"), ("%0d", "\r"), ("%22", '"'))


@attrs.frozen
class Part:
    """One part of a form: its field name, filename (files only), content type and bytes."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def is_file(self) -> bool:
        """Whether the part was sent as a file (it has a filename, or a non-text content type)."""
        if self.filename is not None:
            return True
        ctype = (self.content_type or "text/plain").lower()
        return not ctype.startswith(("text/", "application/json"))


def _malformed(message: str) -> GatewayError:
    return GatewayError(400, f"malformed multipart body: {message}", code="malformed_multipart")


def boundary_of(content_type: str | None) -> str:
    """Return the boundary of a ``multipart/form-data`` content type, or raise a 400."""
    if not content_type:
        raise GatewayError(
            400, "Content-Type multipart/form-data is required", code="bad_content_type"
        )
    mime, _, rest = content_type.partition(";")
    if mime.strip().lower() != "multipart/form-data":
        raise GatewayError(
            400,
            f"Content-Type must be multipart/form-data, not {mime.strip()!r}",
            code="bad_content_type",
        )
    for item in rest.split(";"):
        key, _, value = item.strip().partition("=")
        if key.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if 0 < len(value) <= 200:
                return value
    raise GatewayError(400, "multipart/form-data without a boundary", code="bad_content_type")


def _unescape(raw: str) -> str:
    for escaped, char in _WHATWG_ESCAPES:
        raw = raw.replace(escaped, char)
    return raw


def _params(value: str) -> dict[str, str]:
    """Parse ``form-data; name="x"; filename*=UTF-8''y`` into lowercased keys and values."""
    kind, sep, rest = value.partition(";")
    if kind.strip().lower() != "form-data":
        raise _malformed(f"Content-Disposition must be form-data, not {kind.strip()!r}")
    params: dict[str, str] = {}
    pos = 0
    while sep and pos < len(rest):
        eq = rest.find("=", pos)
        if eq < 0:
            raise _malformed(f"bad Content-Disposition parameter {rest[pos:].strip()!r}")
        key = rest[pos:eq].strip().lower()
        pos = eq + 1
        while pos < len(rest) and rest[pos] in " \t":
            pos += 1
        if pos < len(rest) and rest[pos] == '"':
            end = rest.find('"', pos + 1)
            if end < 0:
                raise _malformed(f"unterminated quoted value for {key!r}")
            params[key] = _unescape(rest[pos + 1 : end])
            pos = end + 1
        else:
            end = rest.find(";", pos)
            end = len(rest) if end < 0 else end
            params[key] = rest[pos:end].strip()
            pos = end
        while pos < len(rest) and rest[pos] in " \t":
            pos += 1
        if pos < len(rest):
            if rest[pos] != ";":
                raise _malformed(f"unexpected text after parameter {key!r}: {rest[pos:]!r}")
            pos += 1
    return params


def _rfc5987(value: str) -> str:
    charset, _, rest = value.partition("'")
    _lang, _, encoded = rest.partition("'")
    if charset.strip().lower() not in ("utf-8", "us-ascii"):
        raise _malformed(f"unsupported filename* charset {charset!r}")
    try:
        return unquote_to_bytes(encoded).decode(charset.strip().lower())
    except UnicodeDecodeError as exc:
        raise _malformed("filename* is not valid UTF-8") from exc


def _part(head: bytes, data: bytes) -> Part:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed("part headers are not UTF-8") from exc
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise _malformed(f"bad part header line {line!r}")
        headers[key.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise _malformed("a part has no Content-Disposition header")
    params = _params(disposition)
    if "name" not in params:
        raise _malformed("a part has no name")
    filename = params.get("filename")
    if "filename*" in params:
        filename = _rfc5987(params["filename*"])
    return Part(
        name=params["name"], filename=filename, content_type=headers.get("content-type"), data=data
    )


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Split a ``multipart/form-data`` body into its parts, in order."""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # The first delimiter may start the body without a preceding CRLF.
    if body.startswith(delimiter[2:]):
        pos = len(delimiter) - 2
    else:
        found = body.find(delimiter)
        if found < 0:
            raise _malformed("the boundary does not occur in the body")
        pos = found + len(delimiter)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", pos):
            return parts
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise _malformed("bad text after a boundary")
        head_end = body.find(b"\r\n\r\n", line_end)
        if head_end < 0:
            raise _malformed("a part has no end of headers")
        head = body[line_end + 2 : head_end + 2]
        next_delim = body.find(delimiter, head_end + 4)
        if next_delim < 0:
            raise _malformed("the closing boundary is missing")
        parts.append(_part(head, body[head_end + 4 : next_delim]))
        pos = next_delim + len(delimiter)
