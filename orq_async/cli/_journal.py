"""The batch's ``manifest.jsonl`` on disk: read once, then appended one synced line at a time."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from orq_async.cli._output import CliError
from orq_async.cli.manifest import Record, parse_journal

__all__ = ["Journal"]


class Journal:
    """An append-only journal; each record is one ``write`` of one line, then ``fsync``.

    Opening it cuts off a torn last line (a write the process died in) so the next record
    starts on a line of its own.

    Raises:
        CliError: a whole line of the journal is not a record (exit 2).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = path.read_bytes() if path.exists() else b""
        whole = raw[: raw.rfind(b"\n") + 1]
        try:
            self.latest: dict[str, Record] = parse_journal(whole.decode("utf-8", "replace"))
        except ValueError as exc:
            raise CliError(f"{path}: {exc} (repair or move the journal)") from None
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if len(whole) < len(raw):
            os.ftruncate(self._fd, len(whole))

    def append(self, record: Record) -> None:
        """Write ``record`` and make it durable before returning."""
        data = record.to_line().encode()
        written = os.write(self._fd, data)
        if written != len(data):  # a short write to a regular file: the disk is full
            raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        os.fsync(self._fd)
        self.latest[record.key] = record

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
