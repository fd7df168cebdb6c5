"""Weigh each piece of an orq_async call in situ: knock it out, in one process, and compare.

Usage::

    python -m benchmarks.knockout [--rounds 15] [--block 400] [--concurrency 16]
        [--sdk-path DIR]

One process pinned to CPU 1 (the stand-in on CPU 0), one warm ``OrqCore``. Each round runs a
block of ``--block`` calls per variant, in rotated order: the SDK as it is (``baseline``), the
SDK with one piece replaced by a cached result or a bare equivalent (the knock-outs below),
and the limit client (aiohttp posting a prebuilt body). A piece's cost is the baseline's client
CPU per call minus the knock-out's, paired within each round (seconds apart, under the same
outside load): median and spread over rounds. Knock-outs change behaviour; they exist only to
measure, never to ship.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.clients import AiohttpLimit, ImageSource, OrqAsyncFunc
from benchmarks.common import drive, fake_png, median, pin
from benchmarks.server import spawn


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, saved)


def _memo(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``'s first result, returned for every later call."""
    first: list[Any] = []

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not first:
            first.append(fn(*args, **kwargs))
        return first[0]

    return wrapper


def _amemo(
    fn: Callable[..., Any], fresh: Callable[[Any], Any] = lambda result: result
) -> Callable[..., Any]:
    """An async ``fn``'s first result, passed through ``fresh`` for every later call."""
    first: list[Any] = []

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not first:
            first.append(await fn(*args, **kwargs))
        return fresh(first[0])

    return wrapper


def _memo_wired(fn: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """The flat function's first (text pieces, file) result, its delimiters swapped for each
    later call's (every call has a boundary of its own)."""
    first: list[tuple[str, Any]] = []

    def wrapper(body: Any, delimiter: str) -> Any:
        if not first:
            first.append((delimiter, fn(body, delimiter)))
        old, wired = first[0]
        if wired is None:
            return None
        text, image = wired
        return [delimiter if piece == old else piece for piece in text], image

    return wrapper


def _fresh_lists(result: Any) -> Any:
    """(files, problems) as new lists: the caller appends to them."""
    files, problems = result
    return list(files), list(problems)


async def _direct(attempt: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await attempt(1, None)


def knockouts() -> dict[str, Callable[[], contextlib.AbstractContextManager[None]]]:
    """Each knock-out as a context manager factory (the pipeline's names, c94aa22 on)."""
    from orq_async import _multipart, core
    from orq_async import _prepare as prepare_module

    _prepare: Any = prepare_module  # the names it imported are patched here
    from orq_async.funcs import router_images_edits_create as op

    def decode_json_only(status: int, headers: Any, raw: bytes) -> Any:
        return json.loads(raw)

    def stack(*parts: Callable[[], contextlib.AbstractContextManager[None]]) -> Any:
        @contextlib.contextmanager
        def both() -> Iterator[None]:
            with contextlib.ExitStack() as es:
                for part in parts:
                    es.enter_context(part())
                yield

        return both

    pieces: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
        "prepare (all of it: a cached body)": lambda: (
            _patched(op._OPERATION, "prepare_now", _memo(op._OPERATION.prepare_now))
            if hasattr(op._OPERATION, "prepare_now")  # the operation carries it (admission on)
            else _patched(op, "prepare_now", _memo(op.prepare_now))
            if hasattr(op, "prepare_now")
            else _patched(op, "prepare", _amemo(op.prepare))
        ),
        "parse_response (response model)": lambda: _patched(
            op._OPERATION, "decode", decode_json_only
        ),
    }
    if hasattr(_prepare, "_wire_request"):  # the generated fast path (this session on)
        pieces["the flat function (validate, JSON, parts)"] = lambda: _patched(
            _prepare, "_wire_request", _memo_wired(_prepare._wire_request)
        )
    else:
        pieces["structure_request (validation)"] = lambda: _patched(
            _prepare, "structure_request", _memo(_prepare.structure_request)
        )
        pieces["wire_fields (text/JSON parts)"] = lambda: _patched(
            _prepare, "wire_fields", _memo(_prepare.wire_fields)
        )
        pieces["prepare_files (image inspection)"] = lambda: _patched(
            _prepare, "prepare_files", _amemo(_prepare.prepare_files, _fresh_lists)
        )
    pieces["encode_body (layout)"] = lambda: _patched(
        _prepare, "encode_body", _memo(_prepare.encode_body)
    )
    if hasattr(core, "run_with_retries") and not hasattr(core, "retry_budget"):
        pieces["run_with_retries"] = lambda: _patched(core, "run_with_retries", _direct)
    throttle = sys.modules.get("orq_async.throttle")
    if throttle is not None:  # 74b46f1 on: a gate before every attempt

        async def no_wait(self: Any, deadline: float | None) -> None:
            return None

        def no_observe(self: Any, *args: Any, **kwargs: Any) -> None:
            return None

        pieces["throttle gate (wait_turn, observe)"] = stack(
            lambda: _patched(throttle.Throttle, "wait_turn", no_wait),
            lambda: _patched(throttle.Throttle, "observe", no_observe),
        )
    http = sys.modules["orq_async._http"]
    if hasattr(http, "_read_body"):  # c94aa22 on: a bounded read

        async def plain_read(resp: Any, cap: int | None) -> bytes:
            data: bytes = await resp.read()
            return data

        pieces["bounded read (_http._read_body)"] = lambda: _patched(http, "_read_body", plain_read)
    loopback = getattr(core, "_is_loopback", None)
    if loopback is not None:  # c94aa22 to 74b46f1: checked on every call that carries a key
        pieces["_is_loopback per call"] = lambda: _patched(
            core, "_is_loopback", functools.lru_cache(maxsize=8)(loopback)
        )
    pieces["all of the above"] = stack(*pieces.values())
    if hasattr(_multipart, "StreamedPayload"):  # c94aa22 on: a bytes-only body is joined

        def streamed(body: Any, progress: Any = None) -> Any:
            return _multipart.StreamedPayload(body, progress)

        pieces["(added) streaming instead of the join"] = lambda: _patched(
            _multipart.EncodedBody, "payload", streamed
        )
    return pieces


async def _run(args: argparse.Namespace, url: str) -> dict[str, list[float]]:
    image: list[ImageSource] = [fake_png(args.size)]
    sdk, limit = OrqAsyncFunc(), AiohttpLimit()
    await sdk.start(url)
    await limit.start(url)
    variants: dict[str, tuple[Callable[[], Any], Any]] = {
        "baseline": (lambda: sdk.edit(image), contextlib.nullcontext),
        "limit client": (lambda: limit.edit(image), contextlib.nullcontext),
    }
    for name, knockout in knockouts().items():
        variants[name] = (lambda: sdk.edit(image), knockout)
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for call, _ in variants.values():
            await drive(call, args.concurrency, 300)
        names = list(variants)
        for rnd in range(args.rounds):
            k = rnd % len(names)
            for name in names[k:] + names[:k]:
                call, knockout = variants[name]
                with knockout():
                    await drive(call, args.concurrency, 50)  # the patch's own warm-up
                    started = time.process_time()
                    await drive(call, args.concurrency, args.block)
                    cpu[name].append((time.process_time() - started) / args.block)
    finally:
        await sdk.close()
        await limit.close()
    return cpu


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--sdk-path", default=None, help="import orq_async from this directory")
    args = parser.parse_args(argv)
    if args.sdk_path:
        sys.path.insert(0, args.sdk_path)
    server = spawn("standin", cpu=0)
    pin(1)
    try:
        cpu = asyncio.run(_run(args, server.url))
    finally:
        server.close()
    base = cpu["baseline"]
    print(f"client CPU per call, c={args.concurrency}, {args.rounds} rounds of {args.block} calls")
    print(f"{'baseline (orq_async as it is)':<36} {median(base) * 1e6:7.1f} us")
    for name, values in cpu.items():
        if name == "baseline":
            continue
        saved = sorted((b - v) * 1e6 for b, v in zip(base, values, strict=True))
        q1, q3 = saved[len(saved) // 4], saved[(3 * len(saved)) // 4]
        print(
            f"{name:<36} {median(values) * 1e6:7.1f} us   saves {median(saved):6.1f} us"
            f"  (interquartile {q1:.1f} to {q3:.1f})"
        )


if __name__ == "__main__":
    main()
