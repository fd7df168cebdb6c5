"""Where output images go: checked before the paid call, never over an input or silently.

``--out`` names a folder when it is an existing folder, ends with ``/`` or has no extension;
then one output is ``<first input's stem>-edited.<ext>`` and several are numbered
(``mug-edited-1.png``, ...). Otherwise it names a file: one output takes that name, several are
numbered (``multi-1.png``, ...). The extension always follows the real format of the bytes. An
existing file gets a new name (``mug-edited-2.png``) unless ``--overwrite``; an input image is
never written over.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from orq_async.cli._output import CliError

__all__ = ["Destination", "check_folder", "numbered", "plan_destination", "write_new"]

_SAME_FORMAT = {"jpeg": "jpg"}


@attrs.frozen
class Destination:
    """A checked, writable output location.

    Attributes:
        folder: the folder (it exists and accepts new files).
        stem: the name outputs start with.
        requested_ext: the extension ``--out`` asked for (``jpg``), when it named a file.
        overwrite: whether existing files (never inputs) may be replaced.
        inputs: the input images, resolved.
    """

    folder: Path
    stem: str
    requested_ext: str | None
    overwrite: bool
    inputs: frozenset[Path]


def _is_folder(out: Path, raw: str) -> bool:
    return out.is_dir() or raw.endswith(("/", os.sep)) or not out.suffix


def check_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) and prove a file can be created in it.

    Raises:
        CliError: naming the folder and the reason (exit 2).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out: cannot create the folder {folder}: {exc.strerror or exc}") from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".orq-async-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise CliError(f"--out: cannot write in {folder}: {exc.strerror or exc}") from None


def plan_destination(out: Path, inputs: Sequence[Path], *, overwrite: bool) -> Destination:
    """Check ``--out`` before anything is sent: make its folder and prove it is writable.

    Raises:
        CliError: with one line naming the problem (exit 2).
    """
    raw = str(out)
    resolved_inputs = frozenset(p.resolve() for p in inputs)
    as_folder = _is_folder(out, raw)
    if out.exists() and not out.is_dir() and not out.is_file():
        raise CliError(f"--out {out} is not a regular file or a folder")
    folder = out if as_folder else out.parent
    check_folder(folder)
    if as_folder:
        stem = f"{inputs[0].stem}-edited" if inputs else "edited"
        return Destination(folder, stem, None, overwrite, resolved_inputs)
    if out.resolve() in resolved_inputs:
        raise CliError(f"--out {out} is one of the input images; choose another name")
    ext = out.suffix[1:].lower()
    return Destination(folder, out.stem, _SAME_FORMAT.get(ext, ext), overwrite, resolved_inputs)


def numbered(dest: Destination, exts: Sequence[str]) -> list[Path]:
    """The planned names of ``len(exts)`` outputs (before resolving clashes)."""
    if len(exts) == 1:
        return [dest.folder / f"{dest.stem}.{exts[0]}"]
    return [dest.folder / f"{dest.stem}-{i}.{ext}" for i, ext in enumerate(exts, 1)]


def _candidates(path: Path) -> Iterable[Path]:
    yield path
    for i in range(2, 10_000):
        yield path.with_name(f"{path.stem}-{i}{path.suffix}")


def write_new(dest: Destination, path: Path, data: bytes) -> Path:
    """Write ``data`` at ``path`` or the first free variant of it; return where it went.

    Raises:
        OSError: the write failed (a partial file is removed).
    """
    for candidate in _candidates(path):
        if candidate.resolve() in dest.inputs:
            continue
        if dest.overwrite:
            _replace(candidate, data)
            return candidate
        try:
            handle = open(candidate, "xb")  # noqa: SIM115 - closed below, removed on failure
        except FileExistsError:
            continue
        try:
            with handle:
                handle.write(data)
        except BaseException:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise FileExistsError(f"no free name for {path}")


def _replace(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
