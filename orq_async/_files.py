"""File inputs: inspection (magic bytes, size, names) and chunked streaming, per attempt.

:func:`prepare_files` inspects every input once per call (the first bytes for the content
type, the size when it is known) and returns :class:`FilePart` values that stream the same
bytes on every attempt: paths are reopened, seekable file objects rewound to where they stood.
A non-seekable stream or an async iterable cannot be replayed (``FilePart.replayable`` is
False), which makes the call single-attempt. Files are never read whole into memory, except a
regular file whose size the system reports as 0 (procfs, some FUSE mounts): it is read at
inspection (at most 50 MiB) so that the body announces its true length.

Only regular files are accepted as paths: they are opened non-blocking and checked with
``fstat`` before any read, so a FIFO, a device or a socket is refused at once instead of
blocking a thread forever. While streaming, a file never sends more bytes than it announced,
and one that shrank, grew, vanished or raised ends the call with :class:`InputStreamError`.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import IO, Any, cast

from orq_async._guards import text_problem
from orq_async.errors import InputStreamError, Problem
from orq_async.models import limits
from orq_async.models.files import FileInput

__all__ = ["CHUNK", "FilePart", "NamedPart", "prepare_files", "prepare_in_memory"]

CHUNK = 256 * 1024
_HEAD = 12
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


Source = bytes | memoryview | os.PathLike[str] | tuple[IO[bytes], int] | AsyncIterator[bytes]


class FilePart:
    """One image file, inspected and ready to stream.

    ``source`` is the bytes (a view of a bytearray or memoryview), a path, a binary file
    object with its start offset, or an async iterator; ``head`` holds bytes already taken
    from a source that cannot be rewound.
    (Plain slotted classes here, not attrs: they are private, and import time counts.)
    """

    __slots__ = ("content_type", "field", "filename", "head", "replayable", "size", "source")

    def __init__(
        self, filename: str, content_type: str, size: int | None, source: Source, head: bytes = b""
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.source = source
        self.head = head
        self.field = "image"  # where problems point (``image[0]``), set by prepare_files
        #: Whether the part can be sent again for a retry.
        self.replayable = not head and (
            isinstance(source, (bytes, memoryview)) or not isinstance(source, AsyncIterator)
        )

    async def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Yield exactly the announced bytes; opens (and closes) a path, rewinds a file.

        Raises:
            InputStreamError: the source failed, or does not hold the announced size.
        """
        sent = 0
        try:
            async for chunk in self._raw_chunks():
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise self._error(f"yielded {type(chunk).__name__}, expected bytes")
                sent += len(chunk)
                if self.size is not None and sent > self.size:
                    raise self._error(f"grew while it was sent (announced {self.size} bytes)")
                yield chunk
        except InputStreamError:
            raise
        except Exception as exc:
            raise self._error(f"could not be read while it was sent: {exc}") from exc
        if self.size is not None and sent < self.size:
            raise self._error(f"shrank while it was sent ({sent} of {self.size} bytes)")

    def _error(self, what: str) -> InputStreamError:
        return InputStreamError((Problem(self.field, f"{self.filename!r} {what}"),))

    async def _raw_chunks(self) -> AsyncIterator[bytes | memoryview]:
        source = self.source
        if isinstance(source, (bytes, memoryview)):
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


class UnsendableFileError(OSError):
    """A path that cannot be sent: not a regular file, or of unknown and excessive size."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _open_rb(path: os.PathLike[str]) -> IO[bytes]:
    """Open a regular file for reading without ever blocking on a FIFO or device."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise UnsendableFileError(f"{os.fspath(path)} is {kind}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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


def _inspect_path(path: os.PathLike[str]) -> tuple[bytes, int, bytes | None]:
    """Return (head, size, whole): ``whole`` holds the content of a file reporting size 0."""
    with _open_rb(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:  # procfs, FUSE: the size is unknown, so read what the file really holds
            whole = f.read(limits.MAX_IMAGE_BYTES + 1)
            if len(whole) > limits.MAX_IMAGE_BYTES:
                raise UnsendableFileError(
                    f"{os.fspath(path)} reports size 0 but holds more than "
                    f"{limits.MAX_IMAGE_BYTES} bytes"
                )
            return whole[:_HEAD], len(whole), whole
        return f.read(_HEAD), size, None


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


_Inspected = tuple[Any, bytes, "int | None", bytes]
"""(source, head, size, unrewindable head) of one file content."""


def _inspect_in_memory(content: bytes | bytearray | memoryview) -> _Inspected:
    view = memoryview(content).cast("B")
    return view, bytes(view[:_HEAD]), view.nbytes, b""


async def _inspect(content: Any) -> _Inspected:
    """Return (source, head, size, unrewindable-head) of one file content."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return _inspect_in_memory(cast("bytes | bytearray | memoryview", content))
    loop = asyncio.get_running_loop()
    if isinstance(content, os.PathLike):
        path = cast("os.PathLike[str]", content)
        head, size, whole = await loop.run_in_executor(None, _inspect_path, path)
        if whole is not None:
            return memoryview(whole), head, size, b""
        return path, head, size, b""
    if isinstance(content, AsyncIterable):
        iterator = aiter(cast("AsyncIterable[bytes]", content))
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
    name = cast(
        "object",
        getattr(content, "name", None) if not isinstance(content, os.PathLike) else content,
    )
    if isinstance(name, (str, os.PathLike)):
        base: str = os.path.basename(os.fspath(cast("str | os.PathLike[str]", name)))
        if base:
            return str(base)
    return f"{stem}.{_EXT.get(content_type, 'bin')}"


def _unpack(item: Any) -> tuple[str | None, Any, str | None]:
    """(filename, content, content type) of one input; None where the input does not say."""
    if isinstance(item, FileInput):
        return item.filename, item.content, item.content_type
    if isinstance(item, tuple):
        parts = cast("Sequence[Any]", item)
        return parts[0], parts[1], parts[2] if len(parts) == 3 else None
    return None, item, None


async def _prepare_one(item: Any, stem: str, images_only: bool) -> FilePart | str:
    """Inspect one file input; return the part or why it cannot be sent."""
    filename, content, content_type = _unpack(item)
    try:
        inspected = await _inspect(content)
    except UnsendableFileError as exc:
        return str(exc)
    except OSError as exc:
        if isinstance(content, os.PathLike):
            what = os.fspath(cast("os.PathLike[str]", content))
        else:
            what = type(content).__name__
        return f"cannot read {what}: {exc.strerror or exc}"
    except (TypeError, ValueError, AttributeError) as exc:
        return f"cannot read the image ({type(content).__name__}): {exc}"
    return _part(inspected, filename, content, content_type, stem, images_only)


def _part(
    inspected: _Inspected,
    filename: str | None,
    content: Any,
    content_type: str | None,
    stem: str,
    images_only: bool,
) -> FilePart | str:
    """The part of an inspected input, or why it cannot be sent (type, size, names)."""
    source, head, size, taken = inspected
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
        problem = text_problem(text)
        if problem is not None:
            return f"the {what} {problem}"
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
    many = isinstance(value, list)  # (no narrowing of ``value``: its items stay Any)
    items: Sequence[Any] = cast("list[Any]", value) if many else [value]
    parts = [
        item if isinstance(item, str) else await _prepare_one(item, name, images_only)
        for item in items
    ]
    return _named(name, value, parts, path)


def prepare_in_memory(name: str, value: Any) -> tuple[list[NamedPart], list[Problem]] | None:
    """:func:`prepare_files` for the ``image`` field, without awaiting, when every input is in
    memory (bytes, or a URL); None when one needs I/O (a path, a file, a stream)."""
    if value is None:
        return [], []
    if isinstance(value, bytes):  # the common case: one image, its type known by its magic
        sniffed = limits.sniff_image_type(value)
        if sniffed is not None and len(value) <= limits.MAX_IMAGE_BYTES:
            part = FilePart(f"{name}.{_EXT[sniffed]}", sniffed, len(value), value)
            return [(name, part)], []
    many = isinstance(value, list)  # (no narrowing of ``value``: its items stay Any)
    items: Sequence[Any] = cast("list[Any]", value) if many else [value]
    parts: list[FilePart | str] = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
            continue
        filename, content, content_type = _unpack(item)
        if not isinstance(content, (bytes, bytearray, memoryview)):
            return None
        inspected = _inspect_in_memory(cast("bytes | bytearray | memoryview", content))
        parts.append(_part(inspected, filename, content, content_type, name, True))
    return _named(name, value, parts, None)


def _named(
    name: str, value: Any, parts: list[FilePart | str], path: str | None
) -> tuple[list[NamedPart], list[Problem]]:
    """Name the parts of a field; a message in place of a part becomes a problem at its path.

    ``parts`` holds, per input, its part, a URL (kept as text) or why it cannot be sent.
    """
    many = isinstance(value, list)
    items: Sequence[Any] = cast("list[Any]", value) if many else [value]
    where = path or name
    out: list[NamedPart] = []
    problems: list[Problem] = []
    for i, (item, part) in enumerate(zip(items, parts, strict=True)):
        if isinstance(item, str):
            out.append((name, item))
            continue
        field = f"{where}[{i}]" if many else where
        if isinstance(part, str):
            problems.append(Problem(field, part))
        else:
            part.field = field
            out.append((name, part))
    return out, problems
