"""The multipart/form-data body: file inputs, content-type sniffing and streaming.

What goes on the wire (the WHATWG "multipart/form-data encoding algorithm", what browsers send
and what web-standard parsers such as ``Request.formData()`` expect): names and filenames as raw
UTF-8 inside quotes, with ``"`` escaped as ``%22``; CR or LF in a filename or content type is
refused before sending. Text fields have no ``Content-Type``; JSON fields are marked
``application/json``; each image is one ``image`` part whose type is sniffed from its bytes.

Files are streamed in chunks (never read whole). :func:`prepare_files` inspects every input
once per call (magic bytes, size); :meth:`EncodedBody.payload` builds a fresh payload for each
attempt, reopening paths and rewinding seekable file objects, so every attempt sends the same
bytes. A non-seekable stream or an async iterable cannot be replayed: such a call is
single-attempt (``EncodedBody.replayable`` is False).
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import IO, Any, cast

from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from orq_async._wire import WireField
from orq_async.errors import Problem
from orq_async.models import limits
from orq_async.models.files import FileInput

__all__ = ["EncodedBody", "FilePart", "NamedPart", "Progress", "encode_body", "prepare_files"]

CHUNK = 256 * 1024
Progress = Callable[[int, "int | None"], None]
"""Upload progress callback: ``(bytes_sent, total_bytes_or_None)``."""
_HEAD = 12
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


Source = memoryview | os.PathLike[str] | tuple[IO[bytes], int] | AsyncIterator[bytes]


class FilePart:
    """One image file, inspected and ready to stream.

    ``source`` is bytes, a path, a binary file object with its start offset, or an async
    iterator; ``head`` holds bytes already taken from a source that cannot be rewound.
    (Plain slotted classes here, not attrs: they are private, and import time counts.)
    """

    __slots__ = ("content_type", "filename", "head", "size", "source")

    def __init__(
        self, filename: str, content_type: str, size: int | None, source: Source, head: bytes = b""
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.source = source
        self.head = head

    @property
    def replayable(self) -> bool:
        """Whether the part can be sent again for a retry."""
        return not self.head and not isinstance(self.source, AsyncIterator)

    async def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Yield the file's bytes; opens (and closes) a path, rewinds a seekable file."""
        source = self.source
        if isinstance(source, memoryview):
            yield source
            return
        if self.head:
            yield self.head
        if isinstance(source, AsyncIterator):
            async for chunk in source:
                yield chunk
            return
        loop = asyncio.get_running_loop()
        if isinstance(source, tuple):
            fobj, start = source
            if start >= 0:
                fobj.seek(start)
            while chunk := await loop.run_in_executor(None, fobj.read, CHUNK):
                yield chunk
            return
        fobj = await _open_in_thread(source)
        try:
            while chunk := await loop.run_in_executor(None, fobj.read, CHUNK):
                yield chunk
        finally:
            fobj.close()


def _open_rb(path: os.PathLike[str]) -> IO[bytes]:
    return open(path, "rb")


def _close_opened(opening: asyncio.Future[IO[bytes]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


async def _open_in_thread(path: os.PathLike[str]) -> IO[bytes]:
    """Open ``path`` in a worker thread; if cancelled meanwhile, close what the thread opens.

    A plain ``await run_in_executor(None, open, ...)`` cancelled while the thread is in
    ``open()`` drops the file object it returns: a descriptor leaked until GC (ResourceWarning).
    """
    opening = asyncio.get_running_loop().run_in_executor(None, _open_rb, path)
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)
        raise


def _bad_header_value(value: str) -> bool:
    return "\r" in value or "\n" in value


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be sent as UTF-8 (a lone surrogate, e.g. from an undecodable file
    name, cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _inspect_path(path: os.PathLike[str]) -> tuple[bytes, int]:
    with open(path, "rb") as f:
        head = f.read(_HEAD)
        return head, os.fstat(f.fileno()).st_size


def _inspect_fileobj(fobj: IO[bytes]) -> tuple[bytes, int, int | None]:
    """Return (head, start, size) of a file object; start is -1 if it cannot seek."""
    seekable = False
    try:
        seekable = fobj.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        return fobj.read(CHUNK) or b"", -1, None
    start = fobj.tell()
    end = fobj.seek(0, os.SEEK_END)
    fobj.seek(start)
    head = fobj.read(_HEAD)
    fobj.seek(start)
    return head, start, end - start


async def _inspect(content: Any) -> tuple[Any, bytes, int | None, bytes]:
    """Return (source, head, size, unrewindable-head) of one file content."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        view = memoryview(content).cast("B")
        return view, bytes(view[:_HEAD]), view.nbytes, b""
    loop = asyncio.get_running_loop()
    if isinstance(content, os.PathLike):
        head, size = await loop.run_in_executor(None, _inspect_path, content)
        return content, head, size, b""
    if isinstance(content, AsyncIterable):
        iterator = aiter(content)
        taken = b""
        async for chunk in iterator:
            taken += chunk
            if len(taken) >= _HEAD:
                break
        return iterator, taken, None, taken
    fobj: IO[bytes] = content
    inspected: tuple[bytes, int, int | None] = await loop.run_in_executor(
        None, _inspect_fileobj, fobj
    )
    head, start, known = inspected
    if start < 0:
        return (fobj, -1), head, None, head
    return (fobj, start), head, known, b""


def _default_name(content: Any, content_type: str, stem: str) -> str:
    name = getattr(content, "name", None) if not isinstance(content, os.PathLike) else content
    if isinstance(name, (str, os.PathLike)):
        base = os.path.basename(os.fspath(name))
        if base:
            return str(base)
    return f"{stem}.{_EXT.get(content_type, 'bin')}"


async def _prepare_one(item: Any, stem: str, images_only: bool) -> FilePart | str:
    """Inspect one file input; return the part or why it cannot be sent."""
    filename: str | None = None
    content_type: str | None = None
    content = item
    if isinstance(item, FileInput):
        filename, content, content_type = item.filename, item.content, item.content_type
    elif isinstance(item, tuple):
        filename, content = item[0], item[1]
        content_type = item[2] if len(item) == 3 else None
    try:
        source, head, size, taken = await _inspect(content)
    except OSError as exc:
        what = os.fspath(content) if isinstance(content, os.PathLike) else type(content).__name__
        return f"cannot read {what}: {exc.strerror or exc}"
    except (TypeError, ValueError, AttributeError) as exc:
        return f"cannot read the image ({type(content).__name__}): {exc}"
    if not isinstance(cast("object", head), bytes):  # a file opened in text mode
        return "the file must be opened in binary mode ('rb')"
    sniffed = limits.sniff_image_type(head)
    if images_only:
        if sniffed is None:
            return "not a PNG, JPEG or WebP image (by its first bytes)"
        if size is not None and size > limits.MAX_IMAGE_BYTES:
            limit = limits.MAX_IMAGE_BYTES
            return f"{size} bytes; each image must be at most {limit} bytes (50 MiB)"
    sniffed = sniffed or "application/octet-stream"
    filename = filename if filename is not None else _default_name(content, sniffed, stem)
    content_type = content_type or sniffed
    named: tuple[tuple[str, object], ...] = (("filename", filename), ("content type", content_type))
    for what, text in named:
        if not isinstance(text, str):  # a FileInput's fields are not type-checked before this
            return f"the {what} must be a str, got {type(text).__name__}"
        if _bad_header_value(text):
            return f"the {what} contains CR or LF"
        if not text.isascii() and not is_utf8(text):
            return f"the {what} is not valid Unicode (a lone surrogate: an undecodable file name?)"
    return FilePart(filename, content_type, size, source, taken)


NamedPart = tuple[str, "FilePart | str"]
"""A file part (or a URL/text sent under a file field's name) with its part name."""


async def prepare_files(
    name: str, value: Any, *, images_only: bool = True, path: str | None = None
) -> tuple[list[NamedPart], list[Problem]]:
    """Inspect a file field's value (one input or a list): return named parts, and problems.

    Args:
        name: the part name (``image``, or an extra file's name such as ``mask``).
        value: one input or a list of inputs, already type-checked.
        images_only: require PNG/JPEG/WebP of at most 50 MiB (the ``image`` field's rule).
        path: the field's path in problems, default ``name``.
    """
    if value is None:
        return [], []
    many = isinstance(value, list)
    items: Sequence[Any] = value if many else [value]
    where = path or name
    out: list[NamedPart] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append((name, item))
            continue
        part = await _prepare_one(item, name, images_only)
        if isinstance(part, str):
            problems.append(Problem(f"{where}[{i}]" if many else where, part))
        else:
            out.append((name, part))
    return out, problems


def _quote(name: str) -> str:
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _part_head(boundary: str, name: str, filename: str | None, content_type: str | None) -> str:
    disposition = f'form-data; name="{_quote(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote(filename)}"'
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head + "\r\n"


class EncodedBody:
    """A multipart body plan: byte segments and file parts, replayable per attempt."""

    __slots__ = ("content_type", "replayable", "segments", "size", "upload_bytes")

    def __init__(
        self,
        *,
        content_type: str,
        segments: tuple[bytes | FilePart, ...],
        size: int | None,
        replayable: bool,
        upload_bytes: int | None,
    ) -> None:
        self.content_type = content_type
        self.segments = segments
        self.size = size
        self.replayable = replayable
        self.upload_bytes = upload_bytes

    def payload(self, progress: Progress | None = None) -> Payload:
        """A fresh aiohttp payload streaming this body (one per attempt).

        Args:
            progress: called as ``progress(bytes_sent, total_or_None)`` after each write.
        """
        return _BodyPayload(self, progress)


@functools.lru_cache(maxsize=256)
def _field_head(name: str, is_json: bool) -> str:
    """A text or JSON part's head after its delimiter line: the same on every call."""
    head = f'Content-Disposition: form-data; name="{_quote(name)}"\r\n'
    if is_json:
        head += "Content-Type: application/json\r\n"
    return head + "\r\n"


def encode_body(fields: list[WireField], files: list[NamedPart]) -> EncodedBody:
    """Lay out the body: text and JSON fields first, then files (URLs as text) in order."""
    boundary = uuid.uuid4().hex
    delimiter = f"--{boundary}\r\n"
    text = "".join(
        [f"{delimiter}{_field_head(name, is_json)}{value}\r\n" for name, value, is_json in fields]
    )
    segments: list[bytes | FilePart] = []
    pending = text
    size: int | None = 0
    for name, image in files:
        if isinstance(image, str):
            pending += _part_head(boundary, name, None, None) + image + "\r\n"
            continue
        pending += _part_head(boundary, name, image.filename, image.content_type)
        segments.append(pending.encode())
        segments.append(image)
        pending = "\r\n"
        size = None if size is None or image.size is None else size + image.size
    segments.append((pending + f"--{boundary}--\r\n").encode())
    parts = [s for s in segments if isinstance(s, FilePart)]
    if size is not None:
        size += sum(len(s) for s in segments if isinstance(s, bytes))
    file_bytes = [f.size for f in parts]
    return EncodedBody(
        content_type=f"multipart/form-data; boundary={boundary}",
        segments=tuple(segments),
        size=size,
        replayable=all(f.replayable for f in parts),
        upload_bytes=None if None in file_bytes else sum(s for s in file_bytes if s is not None),
    )


class _BodyPayload(Payload):
    """Streams an :class:`EncodedBody`; files are opened inside ``write`` and closed there."""

    _autoclose = True

    def __init__(self, body: EncodedBody, progress: Progress | None) -> None:
        super().__init__(body, content_type=body.content_type)
        self._size = body.size
        self._body = body
        self._progress = progress

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not available: the body streams files."""
        raise TypeError("a streamed multipart body cannot be decoded to text")

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write every segment, streaming files chunk by chunk."""
        progress, total, sent = self._progress, self._size, 0
        for segment in self._body.segments:
            if isinstance(segment, bytes):
                await writer.write(segment)
                sent += len(segment)
                if progress is not None:
                    progress(sent, total)
                continue
            async for chunk in segment.chunks():
                await writer.write(chunk)
                if progress is not None:
                    sent += len(chunk)
                    progress(sent, total)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Write the body; the length is already fixed by the plan."""
        await self.write(writer)
