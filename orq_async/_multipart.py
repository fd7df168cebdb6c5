"""The multipart/form-data body: layout and streaming of the parts.

What goes on the wire (the WHATWG "multipart/form-data encoding algorithm", what browsers send
and what web-standard parsers such as ``Request.formData()`` expect): names and filenames as raw
UTF-8 inside quotes, with ``"`` escaped as ``%22``; CR or LF in a filename or content type is
refused earlier, by :mod:`orq_async._files`. Text fields have no ``Content-Type``; JSON fields
are marked ``application/json``; each file is one part under its field's name.

:func:`encode_body` lays the body out once per call; :meth:`EncodedBody.payload` builds a fresh
payload for each attempt, so every attempt sends the same bytes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from orq_async._files import FilePart, NamedPart
from orq_async.errors import InputStreamError, Problem

if TYPE_CHECKING:
    from orq_async._wire import WireField

__all__ = [
    "EncodedBody",
    "Progress",
    "encode_body",
    "field_head",
    "new_boundary",
    "render_fields",
]

_JOIN_LIMIT = 256 * 1024


Progress = Callable[[int, "int | None"], None]
"""Upload progress callback: ``(bytes_sent, total_bytes_or_None)``."""


def _quote(name: str) -> str:
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@functools.lru_cache(maxsize=256)
def _file_head(name: str, filename: str, content_type: str) -> str:
    """A file part's head after its delimiter line."""
    return (
        f'Content-Disposition: form-data; name="{_quote(name)}"; '
        f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
    )


class EncodedBody:
    """A multipart body plan: byte segments and file parts, replayable per attempt."""

    __slots__ = ("content_type", "joinable", "replayable", "segments", "size", "upload_bytes")

    def __init__(
        self,
        content_type: str,
        segments: tuple[bytes | FilePart, ...],
        size: int | None,
        replayable: bool,
        upload_bytes: int | None,
        joinable: bool,
    ) -> None:
        self.content_type = content_type
        self.segments = segments
        self.size = size
        self.replayable = replayable
        self.upload_bytes = upload_bytes
        # A small body of in-memory parts only (bytes images) is joined at write time and sent
        # in one write: the cheapest thing aiohttp can send, without keeping a copy for the
        # call's life. Larger ones stream (a join would cost more than the extra writes).
        self.joinable = joinable

    def payload(self, progress: Progress | None = None) -> StreamedPayload:
        """A fresh aiohttp payload for this body (one per attempt).

        Args:
            progress: called as ``progress(bytes_sent, total_or_None)`` after each write.
        """
        if self.joinable and progress is None:
            return _JoinedPayload(self, None)
        return StreamedPayload(self, progress)


@functools.lru_cache(maxsize=256)
def field_head(name: str, is_json: bool) -> str:
    """A text or JSON part's head after its delimiter line: the same on every call."""
    head = f'Content-Disposition: form-data; name="{_quote(name)}"\r\n'
    if is_json:
        head += "Content-Type: application/json\r\n"
    return head + "\r\n"


def new_boundary() -> str:
    """A random boundary per call: 16 bytes of ``os.urandom``, read 64 boundaries at a time
    (one system call for 64 calls; each boundary is used once, independent of the others).
    Safe across threads (``list.pop`` is atomic); a forked child starts a pool of its own."""
    try:
        return _BOUNDARIES.pop()
    except IndexError:
        raw = os.urandom(16 * 64).hex()
        _BOUNDARIES.extend(raw[i : i + 32] for i in range(32, len(raw), 32))
        return raw[:32]


_BOUNDARIES: list[str] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_BOUNDARIES.clear)


def render_fields(fields: list[WireField], delimiter: str) -> list[str]:
    """The text pieces of text and JSON parts, each after ``delimiter`` (``--boundary\r\n``)."""
    text: list[str] = []
    for name, value, is_json in fields:
        text += (delimiter, field_head(name, is_json), value, "\r\n")
    return text


def encode_body(text: list[str], files: list[NamedPart], boundary: str) -> EncodedBody:
    """Lay out the body: the rendered text parts first, then files (URLs as text) in order.

    Raises:
        UnicodeEncodeError: a text holds a lone surrogate.
    """
    delimiter = f"--{boundary}\r\n"
    segments: list[bytes | FilePart] = []
    size = 0  # of the byte segments
    upload: int | None = 0  # of the files, None when one's size is unknown
    replayable = joinable = True
    for name, image in files:
        if isinstance(image, str):  # a URL or data URI: a text part under the file field
            text += (delimiter, field_head(name, False), image, "\r\n")
            continue
        text += (delimiter, _file_head(name, image.filename, image.content_type))
        head = "".join(text).encode()
        text = ["\r\n"]
        segments += (head, image)
        size += len(head)
        upload = None if upload is None or image.size is None else upload + image.size
        replayable = replayable and image.replayable
        joinable = joinable and isinstance(image.source, (bytes, memoryview))
    text.append(f"--{boundary}--\r\n")
    tail = "".join(text).encode()
    segments.append(tail)
    size += len(tail)
    total = None if upload is None else size + upload
    return EncodedBody(  # positional: a call per request, keywords cost a third more
        f"multipart/form-data; boundary={boundary}",
        tuple(segments),
        total,
        replayable,
        upload,
        joinable and total is not None and total <= _JOIN_LIMIT,
    )


class StreamedPayload(Payload):
    """Streams an :class:`EncodedBody`; files are opened inside ``write`` and closed there.

    aiohttp reports any exception raised while writing as a connection failure; a failure of
    the caller's own sources is kept in ``input_error`` so the core can tell it apart (it is
    the caller's input: never retried, never a network error).
    """

    _autoclose = True
    input_error: InputStreamError | None = None

    def __init__(self, body: EncodedBody, progress: Progress | None) -> None:
        super().__init__(body, content_type=body.content_type)
        self._size = body.size
        self._body = body
        self._progress = progress

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not available: the body streams files."""
        raise TypeError("a streamed multipart body cannot be decoded to text")

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write every segment, streaming files chunk by chunk (never past their size)."""
        try:
            await self._write(writer)
        except InputStreamError as exc:
            self.input_error = exc
            raise

    async def _write(self, writer: AbstractStreamWriter) -> None:
        progress, sent = self._progress, 0
        for segment in self._body.segments:
            if isinstance(segment, bytes):
                await writer.write(segment)
                if progress is not None:
                    sent += len(segment)
                    self._report(progress, sent)
                continue
            async for chunk in segment.chunks():
                await writer.write(chunk)
                if progress is not None:
                    sent += len(chunk)
                    self._report(progress, sent)

    def _report(self, progress: Progress, sent: int) -> None:
        try:
            progress(sent, self._size)
        except Exception as exc:
            problem = Problem("options.upload_progress", f"raised {type(exc).__name__}: {exc}")
            raise InputStreamError((problem,)) from exc

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Write the body; the length is already fixed by the plan."""
        await self.write(writer)


class _JoinedPayload(StreamedPayload):
    """A small in-memory body joined at write time: one write, no copy kept for the call."""

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write the whole body at once."""
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Write the whole body at once (what aiohttp calls: one coroutine less)."""
        parts: list[Any] = [s if isinstance(s, bytes) else s.source for s in self._body.segments]
        await writer.write(b"".join(parts))
