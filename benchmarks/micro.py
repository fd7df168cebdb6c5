"""Micro-benchmarks of the pieces of one call, no network: where the SDK's own time goes.

Usage::

    python -m benchmarks.micro [--number 5000] [--repeat 5] [--sdk-path DIR]

Each line is the mean time of one piece over ``--number`` runs in a tight loop (the best of
``--repeat`` loops, which shrugs off outside load), in the order a call meets them; the async
ones include one event-loop round trip (the first line, to subtract).
Where the limit client (:class:`~benchmarks.clients.AiohttpLimit`) does the same job, its
counterpart follows, marked ``limit:``. ``--sdk-path`` imports orq_async from a copy (A/B;
a copy of 5a3ef6f or later: the pieces are the generated fast path's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

from benchmarks.clients import LIMIT_BOUNDARY, OrqAsyncFunc, prebuilt_body
from benchmarks.common import fake_png
from benchmarks.server import _response_body


class CountingWriter:
    """Stands in for aiohttp's ``StreamWriter``: counts the writes a payload makes."""

    def __init__(self) -> None:
        self.writes = 0

    async def write(self, chunk: Any) -> None:
        """Count one write."""
        self.writes += 1


def pieces() -> list[tuple[str, Callable[[], Any]]]:
    """The pieces of one call (and the limit's counterparts), each as a no-argument callable."""
    from aiohttp import payload as aiohttp_payload
    from multidict import CIMultiDict, CIMultiDictProxy

    from orq_async import core as core_module
    from orq_async import retries
    from orq_async._classify import classify
    from orq_async._convert import structure_request
    from orq_async._files import prepare_files, prepare_in_memory
    from orq_async._http import RawResponse
    from orq_async._multipart import encode_body, new_boundary, render_fields
    from orq_async._prepare import _wire_request, prepare
    from orq_async._redact import Redactor
    from orq_async._wire import wire_fields
    from orq_async.core import OrqCore
    from orq_async.funcs import router_images_edits_create as op
    from orq_async.retries import SAFE_DEFAULT, retry_codes_matcher

    image = fake_png(64 * 1024)
    limit_body = prebuilt_body(image, LIMIT_BOUNDARY)
    body = OrqAsyncFunc()._body([image])
    raw = _response_body(4096)
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    model = structure_request(body)
    files, _ = run(prepare_files("image", image))
    fields = wire_fields(model)
    boundary = new_boundary()
    delimiter = f"--{boundary}\r\n"
    text = render_fields(fields, delimiter)
    encoded = encode_body(list(text), files, boundary)
    core = OrqCore("k", server_url="http://127.0.0.1:9")
    plan: Any = core._plan(op.PATH, None)
    decode_once = _decode_once(core_module)
    redactor = Redactor("k")
    response = RawResponse(200, headers, raw)
    attempt_result = classify(response, redactor)
    codes = retry_codes_matcher((429,))
    writer: Any = CountingWriter()

    async def attempt(_n: int, _deadline: float | None) -> Any:
        return attempt_result

    async def nothing() -> None:
        return None

    async def direct() -> Any:
        return await attempt(1, None)

    async def first_attempt() -> Any:
        """What the core does around the first attempt (``retry_after_first`` only on a retry);
        before 0b12e37 the whole ``run_with_retries`` wrapper."""
        wrapper = getattr(retries, "run_with_retries", None)
        if wrapper is not None:
            return await wrapper(attempt, SAFE_DEFAULT, codes, sleep=asyncio.sleep)
        budget = retries.retry_budget(SAFE_DEFAULT)
        last = await attempt(1, None if budget is None else time.monotonic() + budget)
        last.should_retry(codes, SAFE_DEFAULT.retry_connection_errors)
        return last

    def write(payload: Any) -> Callable[[], Any]:
        return lambda: run(payload.write_with_length(writer, None))

    for name, payload in (
        ("orq_async", encoded.payload(None)),
        ("limit", aiohttp_payload.get_payload(limit_body)),
    ):
        writer.writes = 0
        run(payload.write_with_length(writer, None))
        print(f"{name}: {writer.writes} writes to the stream per 64 KiB body")
    out: list[tuple[str, Callable[[], Any]]] = [
        ("(an event-loop round trip)", lambda: run(nothing())),
        ("prepare (all of the below)", lambda: run(prepare(body, None))),
        (
            "  the flat function (validate, JSON, text parts)",
            lambda: _wire_request(body, delimiter),
        ),
        (
            "  prepare_in_memory (inspect one bytes image)",
            lambda: prepare_in_memory("image", image),
        ),
        ("  encode_body (lay out the body)", lambda: encode_body(list(text), files, boundary)),
        ("reference: structure_request (validate the dict)", lambda: structure_request(body)),
        (
            "reference: wire_fields + render_fields",
            lambda: render_fields(wire_fields(model), delimiter),
        ),
        ("core._plan (cached) + plan.with_key", lambda: plan.with_key("k")),
        (
            "the core's key",
            core._keys.current if hasattr(core, "_keys") else lambda: run(core._key()),
        ),
        ("EncodedBody.payload()", lambda: encoded.payload(None)),
        ("limit: aiohttp's BytesPayload(body)", lambda: aiohttp_payload.get_payload(limit_body)),
        ("payload write, orq_async (counting writer)", write(encoded.payload(None))),
        ("limit: payload write (counting writer)", write(aiohttp_payload.get_payload(limit_body))),
        ("first attempt and its retry check (a no-op attempt)", lambda: run(first_attempt())),
        ("limit: awaiting the attempt directly", lambda: run(direct())),
        ("classify (a 200)", lambda: classify(response, redactor)),
        (
            "decode once (json.loads, parse_response, meta, Ok)",
            lambda: decode_once(op._OPERATION, attempt_result, redactor),
        ),
        ("limit: json.loads (the response)", lambda: json.loads(raw)),
    ]
    loopback = getattr(core_module, "_is_loopback", None)
    if loopback is not None:  # c94aa22 to 74b46f1: checked on every call that carries a key
        out.insert(7, ("core._is_loopback (per call)", lambda: loopback(plan.url.host)))
    return out


def _decode_once(core_module: Any) -> Callable[[Any, Any, Any], Any]:
    """The step that decodes the last attempt into the Result, wherever this version keeps it."""
    try:
        from orq_async._pipeline import decode_result
    except ImportError:  # c94aa22 to 74b46f1: core._decode(operation, (attempt, made), redactor)
        return lambda operation, attempt, redactor: core_module._decode(
            operation, (attempt, 1), redactor
        )
    return lambda operation, attempt, redactor: decode_result(
        operation.decode, attempt, 1, redactor
    )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="best of this many loops")
    parser.add_argument("--sdk-path", default=None, help="import orq_async from this directory")
    args = parser.parse_args(argv)
    if args.sdk_path:
        sys.path.insert(0, args.sdk_path)
    for name, fn in pieces():
        fn()
        seconds = min(timeit.repeat(fn, number=args.number, repeat=args.repeat)) / args.number
        print(f"{name:<44} {seconds * 1e6:8.2f} us")


if __name__ == "__main__":
    main()
