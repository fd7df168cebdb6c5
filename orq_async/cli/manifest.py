"""The batch's records and inputs, as pure functions: no I/O here.

The output folder's ``manifest.jsonl`` is a journal: one JSON object per line, appended as
things happen, the last line of an item telling its state:

- ``started``: the call was about to be sent (written *before* sending);
- ``done``: the images are saved (``outputs``);
- ``kept``: the answer came but its images could not be saved: the response JSON is ``kept``
  (paid for, so never sent again);
- ``failed``: the call failed (``error``); ``cancelled``: a second Ctrl-C cancelled it in flight.

A re-run sends only items with no record. ``--retry-failed`` sends only ``failed``,
``cancelled`` and ``started`` items (the last two may have been billed: the gateway may have
received them). A torn last line (a crash mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import attrs

__all__ = [
    "RETRYABLE",
    "Item",
    "Record",
    "Status",
    "item_from_line",
    "parse_journal",
    "parse_shard",
    "select",
]

Status = Literal["started", "done", "kept", "failed", "cancelled"]
RETRYABLE: frozenset[str] = frozenset({"failed", "cancelled", "started"})


@attrs.frozen
class Item:
    """One edit of the batch.

    Attributes:
        key: what identifies it across runs (its ``id``, else its image path or line hash).
        images: its input images.
        fields: its request fields (besides ``image``), over the command's defaults.
        stem: how its outputs are named (``<stem>.<ext>``).
    """

    key: str
    images: tuple[Path, ...]
    fields: Mapping[str, Any] = attrs.field(factory=dict[str, Any])
    stem: str = ""


@attrs.frozen(kw_only=True)
class Record:
    """One line of the journal."""

    key: str
    status: Status
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ()
    request_id: str | None = None
    attempts: int | None = None
    error: Mapping[str, Any] | None = None
    kept: str | None = None

    def to_line(self) -> str:
        """The record as one JSON line (with its newline)."""
        data = {k: v for k, v in attrs.asdict(self).items() if v not in (None, (), [])}
        return json.dumps(data, separators=(",", ":")) + "\n"


_STATUSES = frozenset({"started", "done", "kept", "failed", "cancelled"})


def _record(line: str) -> Record:
    data = json.loads(line)
    status = data["status"]
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return Record(
        key=str(data["key"]),
        status=status,
        inputs=tuple(data.get("inputs", ())),
        outputs=tuple(data.get("outputs", ())),
        request_id=data.get("request_id"),
        attempts=data.get("attempts"),
        error=data.get("error"),
        kept=data.get("kept"),
    )


def parse_journal(text: str) -> dict[str, Record]:
    """The last record of each key.

    Records are written one ``write`` per line, newline included, so a last line without its
    newline is a torn write (the process died mid-write, before its call was sent): it is left
    out (the journal's writer cuts it off before appending).

    Raises:
        ValueError: a whole line is not a record, naming its number.
    """
    latest: dict[str, Record] = {}
    *whole, _torn = text.split("\n")
    for number, line in enumerate(whole, 1):
        if not line.strip():
            continue
        try:
            record = _record(line)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"line {number}: {exc}") from None
        latest[record.key] = record
    return latest


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 <= K <= N.

    Raises:
        ValueError: naming the expected form.
    """
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise ValueError(f"--shard must be K/N, like 2/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return k, n


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    """Whether ``key`` belongs to shard K of N (a stable hash of the key, not its position)."""
    k, n = shard
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n == k - 1


def select(
    items: Iterable[Item],
    latest: Mapping[str, Record],
    *,
    retry_failed: bool,
    shard: tuple[int, int] = (1, 1),
) -> tuple[list[Item], dict[str, int]]:
    """The items to send now, and how many of the shard's items were skipped, by state."""
    chosen: list[Item] = []
    skipped: dict[str, int] = {}
    for item in items:
        if not in_shard(item.key, shard):
            continue
        record = latest.get(item.key)
        state = None if record is None else record.status
        wanted = state in RETRYABLE if retry_failed else state is None
        if wanted:
            chosen.append(item)
        else:
            label = state or "never sent"
            skipped[label] = skipped.get(label, 0) + 1
    return chosen, skipped


def item_from_line(line: str, number: int, base: Path) -> Item:
    """An item from one JSONL line: ``image`` (a path or a list, relative to ``base``),
    ``prompt``, any request field, and an optional ``id``.

    Raises:
        ValueError: naming the line and the field.
    """
    where = f"line {number}"
    try:
        parsed: object = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{where}: expected a JSON object")
    data = cast("dict[str, Any]", parsed)
    raw: object = data.pop("image", None)
    paths: list[object] = cast("list[object]", raw) if isinstance(raw, list) else [raw]
    names = [p for p in paths if isinstance(p, str) and p]
    if not names or len(names) != len(paths):
        raise ValueError(f"{where}: image: expected a path or a list of paths")
    images = tuple(base / p for p in names)
    ident: object = data.pop("id", None)
    if ident is None:
        canonical = json.dumps({"image": names, **data}, sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        return Item(
            key=f"sha256:{digest}",
            images=images,
            fields=data,
            stem=f"{images[0].stem}-{digest[:8]}",
        )
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        raise ValueError(f"{where}: id: expected a string or a number")
    stem = str(ident)
    if not stem or stem in (".", "..") or any(c in stem for c in "/\\\0"):
        raise ValueError(f"{where}: id: {stem!r} cannot name a file (no / or \\)")
    return Item(key=stem, images=images, fields=data, stem=stem)
