"""Profile one client's hot path with cProfile against the stand-in.

Usage::

    python -m benchmarks.profile [CLIENT] [--concurrency 16] [--size 65536] [--requests 3000]
        [--sort tottime] [--limit 40] [--out prof.pstats] [--sdk-path DIR]

Starts the stand-in (pinned to CPU 0), pins itself to CPU 1, warms the client up, then profiles
``--requests`` calls made by ``--concurrency`` concurrent callers and prints the top functions.
For a sampling view without cProfile's overhead: ``py-spy record -o flame.svg -- python -m
benchmarks.profile orq_async --no-cprofile``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time

from benchmarks.clients import CLIENTS, Client, ImageSource
from benchmarks.common import drive, fake_png, pin
from benchmarks.server import spawn


async def _drive(client: Client, image: bytes, concurrency: int, requests: int) -> None:
    images: list[ImageSource] = [image]
    await drive(lambda: client.edit(images), concurrency, requests)


async def _main(args: argparse.Namespace, url: str) -> None:
    client = CLIENTS[args.client]()
    await client.start(url)
    image = fake_png(args.size)
    try:
        await _drive(client, image, args.concurrency, max(args.concurrency, 200))
        profiler = cProfile.Profile() if args.cprofile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await _drive(client, image, args.concurrency, args.requests)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.close()
    print(
        f"{args.client}: {args.requests} requests, c={args.concurrency}, {args.size} B: "
        f"{args.requests / wall:.0f} req/s, {cpu * 1000 / args.requests:.3f} ms CPU/request"
        + (" (under cProfile)" if profiler is not None else "")
    )
    if profiler is not None:
        stats = pstats.Stats(profiler)
        if args.out:
            stats.dump_stats(args.out)
        stats.sort_stats(args.sort).print_stats(args.limit)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="profile one client's hot path")
    parser.add_argument("client", nargs="?", default="orq_async", choices=sorted(CLIENTS))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-cprofile", dest="cprofile", action="store_false")
    parser.add_argument("--sdk-path", default=None, help="import orq_async from this directory")
    args = parser.parse_args(argv)
    if args.sdk_path:
        sys.path.insert(0, args.sdk_path)
    server = spawn("standin", cpu=0)
    pin(1)
    try:
        asyncio.run(_main(args, server.url))
    finally:
        server.close()


if __name__ == "__main__":
    main()
