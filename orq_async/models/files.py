"""File inputs accepted for ``image``.

An image is one of:

- ``bytes`` / ``bytearray`` / ``memoryview``: the file's content, sent as ``image.<ext>``;
- a ``pathlib.Path`` or any ``os.PathLike``: streamed from disk, filename from the path;
- an open binary file object: streamed; a seekable one is rewound to where it stood for every
  attempt, a non-seekable one makes the call single-attempt (it cannot be replayed);
- a :class:`FileInput`, or a ``(filename, content)`` / ``(filename, content, content_type)``
  tuple, where ``content`` is any of the above or an async iterable of bytes (single-attempt);
- a ``str``: an ``http(s)://`` URL or a ``data:`` URI, sent as a text part (the gateway fetches
  it). A ``str`` is never taken as a path: pass a ``Path`` for a file.

``image`` takes one of these or a list of up to 16 (only a ``list`` means several images:
a tuple is always one ``(filename, content[, content_type])`` file).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable
from typing import IO, TypeAlias

import attrs

__all__ = ["FileContent", "FileInput", "ImageInput", "ImageValue"]

FileContent: TypeAlias = (
    bytes | bytearray | memoryview | os.PathLike[str] | IO[bytes] | AsyncIterable[bytes]
)
"""What a file's bytes can come from."""


@attrs.frozen
class FileInput:
    """A file with an explicit filename and, optionally, content type.

    Args:
        filename: the name sent in the part's ``Content-Disposition``.
        content: the bytes, a path, a binary file object or an async iterable of bytes.
        content_type: sent as the part's ``Content-Type``; sniffed from the bytes when None.
    """

    filename: str
    content: FileContent
    content_type: str | None = None


ImageInput: TypeAlias = (
    bytes
    | bytearray
    | memoryview
    | os.PathLike[str]
    | IO[bytes]
    | FileInput
    | tuple[str, FileContent]
    | tuple[str, FileContent, str]
    | str
)
"""One image: see the module docstring."""

ImageValue: TypeAlias = ImageInput | list[ImageInput]
"""The ``image`` field: one image or a list of up to 16 (a tuple is one file, not a list)."""
