"""``orq-async images edit-batch``: many edits, resumable, each paid result kept.

Every item is journaled in the output folder's ``manifest.jsonl`` (see
:mod:`orq_async.cli.manifest`): ``started`` before its call is sent, then its outcome. A re-run
of the same command sends only the items with no record, so an interrupted batch resumes
without paying twice; ``--retry-failed`` sends only the failures. The first Ctrl-C stops
sending and lets the calls in flight finish and be saved; a second one cancels them.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from orq_async.cli._flags import (
    add_connection_flags,
    add_request_flags,
    as_body,
    count,
    request_fields,
)
from orq_async.cli._inputs import discover
from orq_async.cli._journal import Journal
from orq_async.cli._output import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    Output,
    error_json,
    guarded,
)
from orq_async.cli._paths import Destination, check_folder
from orq_async.cli._run import run
from orq_async.cli._terminal import StatusLine, progress_bar
from orq_async.cli.manifest import RETRYABLE, Item, Record, parse_shard, select

if TYPE_CHECKING:
    from orq_async.core import OrqCore
    from orq_async.errors import OrqError
    from orq_async.models.dicts import CreateImageEditRequestDict
    from orq_async.models.response import CreateImageEditResponseBody
    from orq_async.result import Result

__all__ = ["add_batch_parser"]

DESCRIPTION = """\
Edit many images, each with its own call, and save the results in one folder with a
manifest.jsonl recording every item (inputs, status, outputs, request id, attempts, error).

INPUT is a folder (its PNG, JPEG and WebP files), an image, a glob pattern (quoted) or a
.jsonl manifest: one JSON object per line with "image" (a path or a list, relative to the
manifest), optionally "id", and any request field ("prompt", "model", "n", ...), which
overrides the flags. Re-running the same command skips what is done (never paying twice);
--retry-failed sends only the failures. Ctrl-C stops sending and waits for the calls in
flight; a second Ctrl-C cancels them. Exit codes: 0 all done, 1 some item failed,
2 usage or input error, 130 interrupted."""

EXAMPLES = """\
examples:
  every image of a folder, 8 at a time:
    orq-async images edit-batch photos/ --model openai/gpt-image-1 \\
        --prompt "Remove the background" --out edited/ --concurrency 8
  a manifest with a prompt per image, offline through the emulator:
    orq-async images edit-batch jobs.jsonl --model local/invert --out edited/ --emulator
  two machines sharing one batch, then the failures again:
    orq-async images edit-batch 'photos/*.png' --prompt "..." --model M --out a/ --shard 1/2
    orq-async images edit-batch 'photos/*.png' --prompt "..." --model M --out a/ --retry-failed"""


def add_batch_parser(images: Any) -> None:
    """Register ``images edit-batch`` on the ``images`` subparsers."""
    parser: argparse.ArgumentParser = images.add_parser(
        "edit-batch",
        help="edit many images, resumably",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="a folder, an image, a glob or a .jsonl file"
    )
    add_request_flags(parser, batch=True)
    runs = parser.add_argument_group("the batch")
    runs.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FOLDER",
        help="where the images and manifest.jsonl go (created if missing)",
    )
    runs.add_argument(
        "--concurrency",
        type=count,
        default=8,
        metavar="N",
        help="the most calls in flight at once (default 8)",
    )
    runs.add_argument(
        "--adaptive",
        action="store_true",
        help="adapt the calls in flight to the gateway's pace (at most --concurrency)",
    )
    runs.add_argument(
        "--retry-failed",
        action="store_true",
        help="send only the items that failed or were cancelled in an earlier run",
    )
    runs.add_argument(
        "--shard",
        metavar="K/N",
        help="do only the K-th of N disjoint parts (by a hash of each item's key)",
    )
    add_connection_flags(parser)
    parser.set_defaults(run=_main, command_parser=parser)


@attrs.define
class _Control:
    """What the first Ctrl-C changes: no new calls."""

    stopping: bool = False
    in_flight: int = 0

    def stop(self) -> str:
        self.stopping = True
        return (
            f"stopping: no new calls; waiting for {self.in_flight} in flight "
            "(Ctrl-C again cancels them)"
        )


def _main(args: argparse.Namespace) -> int:
    output = Output(json_mode=args.json, quiet=args.quiet)
    control = _Control()
    return run(guarded(_batch(args, output, control), output), stop=control.stop)


def _check_out(out: Path, sources: list[str], items: list[Item]) -> None:
    """Refuse an output folder that holds inputs: a re-run would edit the outputs too."""
    folder = out.resolve()
    journal = folder / "manifest.jsonl"
    if any(Path(source).resolve() == journal for source in sources):
        raise CliError(f"{journal} is the batch's own journal, not an input manifest")
    for item in items:
        for image in item.images:
            if image.resolve().parent == folder:
                raise CliError(f"--out {out} holds the input {image}: choose another folder")


def _body(item: Item, defaults: Mapping[str, Any]) -> CreateImageEditRequestDict:
    image: Any = item.images[0] if len(item.images) == 1 else list(item.images)
    return as_body({**defaults, **item.fields, "image": image})


@attrs.define
class _Tally:
    done: int = 0
    failed: int = 0
    kept: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.kept


async def _batch(args: argparse.Namespace, output: Output, control: _Control) -> int:
    items = discover(args.inputs)
    try:
        shard = parse_shard(args.shard) if args.shard else (1, 1)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    defaults = request_fields(args)
    for item in items:
        missing = [f for f in ("model", "prompt") if f not in {**defaults, **item.fields}]
        if missing:
            raise CliError(f"{item.key}: no {' and no '.join(missing)} (give --{missing[0]})")
    _check_out(args.out, args.inputs, items)
    check_folder(args.out)
    status = StatusLine(sys.stderr, enabled=output.interactive)
    with Journal(args.out / "manifest.jsonl") as journal:
        chosen, skipped = select(items, journal.latest, retry_failed=args.retry_failed, shard=shard)
        tally = _Tally()
        if chosen:
            from orq_async.cli._connection import open_core  # the SDK: only when sending

            limit = args.concurrency if args.adaptive else None
            async with open_core(args, status, retry_lines=False, adaptive_limit=limit) as core:
                await _send(args, core, chosen, defaults, journal, tally, status, control, output)
        status.clear()
    return _summary(args, output, tally, skipped, control, len(chosen))


async def _send(
    args: argparse.Namespace,
    core: OrqCore,
    chosen: list[Item],
    defaults: Mapping[str, Any],
    journal: Journal,
    tally: _Tally,
    status: StatusLine,
    control: _Control,
    output: Output,
) -> None:
    from orq_async.batch import edit_many

    in_flight: dict[int, Item] = {}
    started = time.monotonic()

    def bodies() -> Iterator[CreateImageEditRequestDict]:
        for index, item in enumerate(chosen):
            if control.stopping:
                return
            journal.append(Record(key=item.key, status="started", inputs=_names(item)))
            in_flight[index] = item
            control.in_flight = len(in_flight)
            yield _body(item, defaults)

    def progress() -> None:
        text = progress_bar(
            tally.finished, tally.failed + tally.kept, len(chosen), time.monotonic() - started
        )
        limit = core.throttle.state.limit
        status.show(text if limit is None else f"{text}, limit {limit}")

    progress()
    results = edit_many(core, bodies(), concurrency=args.concurrency)
    try:
        async with contextlib.aclosing(results):
            async for index, result in results:
                item = in_flight[index]
                try:
                    record = await _finish(item, result, args.out, output)
                except BaseException:  # interrupted while saving a paid answer: it is kept
                    del in_flight[index]
                    journal.append(Record(key=item.key, status="kept", error=_SAVING))
                    raise
                del in_flight[index]
                control.in_flight = len(in_flight)
                journal.append(record)
                _count(tally, record, status, output)
                progress()
    except BaseException:  # a second Ctrl-C: what was in flight is cancelled
        for item in in_flight.values():
            journal.append(Record(key=item.key, status="cancelled", inputs=_names(item)))
        raise


_SAVING = {
    "type": "Interrupted",
    "message": "interrupted while saving: the response JSON is kept in the output folder",
}


def _names(item: Item) -> tuple[str, ...]:
    return tuple(str(p) for p in item.images)


async def _finish(
    item: Item,
    result: Result[CreateImageEditResponseBody, OrqError],
    folder: Path,
    output: Output,
) -> Record:
    from orq_async.cli._download import DownloadLimits
    from orq_async.cli._save import SaveError, save_images
    from orq_async.result import Err

    meta = result.meta
    common: dict[str, Any] = {
        "key": item.key,
        "inputs": _names(item),
        "request_id": meta.request_id,
        "attempts": meta.attempts,
    }
    if isinstance(result, Err):
        return Record(status="failed", error=error_json(result.error), **common)
    dest = Destination(folder, item.stem, None, False, frozenset(p.resolve() for p in item.images))
    try:
        paths = await save_images(result.value, dest, DownloadLimits(), output)
    except SaveError as exc:
        kept = None if exc.kept is None else str(exc.kept)
        return Record(status="kept", kept=kept, error=error_json(exc), **common)
    return Record(status="done", outputs=tuple(str(p) for p in paths), **common)


def _count(tally: _Tally, record: Record, status: StatusLine, output: Output) -> None:
    if record.status == "done":
        tally.done += 1
        return
    if record.status == "kept":
        tally.kept += 1
    else:
        tally.failed += 1
    message = (record.error or {}).get("message", record.status)
    status.clear()
    output.note(f"{record.status}: {record.key}: {message}")


def _summary(
    args: argparse.Namespace,
    output: Output,
    tally: _Tally,
    skipped: dict[str, int],
    control: _Control,
    chosen: int,
) -> int:
    retryable = sum(n for state, n in skipped.items() if state in RETRYABLE)
    unsaved = skipped.get("kept", 0)
    manifest = args.out / "manifest.jsonl"
    parts = [f"{tally.done} done", f"{tally.failed} failed"]
    if tally.kept:
        parts.append(f"{tally.kept} answered but not saved (response JSON kept)")
    if skipped:
        listed = ", ".join(f"{n} {state}" for state, n in sorted(skipped.items()))
        parts.append(f"skipped: {listed}")
    output.line(f"{', '.join(parts)}; manifest {manifest}")
    if retryable:
        output.note(f"{retryable} item(s) failed earlier: add --retry-failed to send them again")
    if unsaved:
        output.note(f"{unsaved} answer(s) could not be saved earlier: see 'kept' in {manifest}")
    interrupted = control.stopping and tally.finished < chosen
    failed = bool(tally.failed or tally.kept or retryable or unsaved)
    output.result(
        {
            "done": tally.done,
            "failed": tally.failed,
            "kept": tally.kept,
            "skipped": skipped,
            "interrupted": interrupted,
            "manifest": str(manifest),
        },
        ok=not failed and not interrupted,
    )
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_API if failed else EXIT_OK
