"""Micro-benchmarks of the pieces of one call, no network: where the SDK's own time goes.

Usage::

    python -m benchmarks.micro [--number 20000]

Each line is the mean time of one piece over ``--number`` runs in a tight loop (the async ones
include one event-loop round trip, shown on the last line for reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import timeit
from collections.abc import Callable
from typing import Any

from benchmarks.clients import OrqAsyncFunc
from benchmarks.common import fake_png
from benchmarks.server import _response_body


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args(argv)

    from orq_async._convert import parse_response, structure_request
    from orq_async._files import prepare_files
    from orq_async._http import Attempt
    from orq_async._multipart import encode_body
    from orq_async._wire import wire_fields
    from orq_async.core import OrqCore
    from orq_async.result import Ok
    from orq_async.retries import SAFE_DEFAULT, retry_codes_matcher, run_with_retries

    image = fake_png(64 * 1024)
    body = OrqAsyncFunc()._body([image])
    raw = _response_body(4096)
    loop = asyncio.new_event_loop()
    model = structure_request(body)
    files, _ = loop.run_until_complete(prepare_files("image", image))
    fields = wire_fields(model)
    core = OrqCore("k", server_url="http://127.0.0.1:9")
    attempt_result = Attempt(Ok(1), 200, {})
    codes = retry_codes_matcher((429,))

    async def attempt(_n: int) -> Attempt:
        return attempt_result

    async def nothing() -> None:
        return None

    pieces: list[tuple[str, Callable[[], Any]]] = [
        ("structure_request (validate the dict)", lambda: structure_request(body)),
        ("wire_fields (text and JSON parts)", lambda: wire_fields(model)),
        (
            "prepare_files (inspect one bytes image)",
            lambda: loop.run_until_complete(prepare_files("image", image)),
        ),
        ("encode_body (lay out the body)", lambda: encode_body(fields, files)),
        ("core._headers", lambda: loop.run_until_complete(core._headers({}))),
        (
            "run_with_retries (a no-op attempt)",
            lambda: loop.run_until_complete(
                run_with_retries(attempt, SAFE_DEFAULT, codes, sleep=asyncio.sleep)
            ),
        ),
        ("json.loads (the response)", lambda: json.loads(raw)),
        ("parse_response(json.loads(...))", lambda: parse_response(json.loads(raw))),
        ("Attempt.to_result", lambda: attempt_result.to_result(1)),
        ("(an event-loop round trip)", lambda: loop.run_until_complete(nothing())),
    ]
    for name, fn in pieces:
        fn()
        seconds = timeit.timeit(fn, number=args.number) / args.number
        print(f"{name:<42} {seconds * 1e6:8.2f} us")
    loop.run_until_complete(core.aclose())
    loop.close()


if __name__ == "__main__":
    main()
