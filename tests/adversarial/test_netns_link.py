"""Issue 10, point 19: a real lossy, slow link between two network namespaces.

The server runs as a separate process inside its own network namespace, joined to the test's
namespace by a veth pair whose both ends are shaped with ``tc``: 100 ms delay, 2% loss and
2 Mbit/s (``netem``). A few calls cross it with connection retries on; each ends within its
bound, is ``Ok``, and the image arrived intact (the server returns the SHA-256 it computed).
No descriptor is left behind.

Needs root, ``ip netns`` and the ``sch_netem`` qdisc; otherwise the case is skipped with the
reason printed. The ``tbf`` case (2 Mbit/s only, no delay or loss) runs on kernels without
netem, so the namespace machinery itself stays tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from orq_async import BackoffStrategy, Ok, OrqCore, RetryConfig
from tests.adversarial._support import body, edit
from tests.conftest import PNG
from tests.reliability._support import stable_fd_count

ROOT = Path(__file__).resolve().parents[2]
SHAPES = {
    "netem 100ms 2% 2mbit": ["netem", "delay", "100ms", "loss", "2%", "rate", "2mbit"],
    "tbf 2mbit": ["tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms"],
}
IMAGE = PNG + os.urandom(48 * 1024)
RETRIES = RetryConfig("backoff", BackoffStrategy(50, 200, 2.0, 60_000), True)
CALLS = 4


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


def _skip(reason: str) -> NoReturn:
    print(f"SKIPPED namespace link test: {reason}")
    pytest.skip(reason)


def _free_subnet() -> str:
    """A 10.251.X.0/30 no interface here uses (another run may hold one at the same time)."""
    taken = _ip("-o", "-4", "addr", "show").stdout
    start = os.getpid() % 250
    for offset in range(250):
        subnet = f"10.251.{(start + offset) % 250}"
        if f" {subnet}." not in taken:
            return subnet
    _skip("no free 10.251.X.0/30 subnet")


@pytest.fixture(params=list(SHAPES))
def link(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A namespace joined by a shaped veth pair: yield (namespace, server address)."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        _skip("needs root with the ip and tc tools")
    tag = f"{os.getpid() % 100_000}"
    ns, here, there = f"orqadv{tag}", f"oah{tag}", f"oan{tag}"
    subnet = _free_subnet()
    if _ip("netns", "add", ns).returncode != 0:
        _skip("cannot create a network namespace here")
    try:
        steps = [
            ("link", "add", here, "type", "veth", "peer", "name", there),
            ("link", "set", there, "netns", ns),
            ("addr", "add", f"{subnet}.1/30", "dev", here),
            ("link", "set", here, "up"),
            ("-n", ns, "addr", "add", f"{subnet}.2/30", "dev", there),
            ("-n", ns, "link", "set", there, "up"),
            ("-n", ns, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                _skip(f"ip {' '.join(step)}: {done.stderr.strip()}")
        shape = SHAPES[request.param]
        for prefix in ([], ["ip", "netns", "exec", ns]):
            dev = there if prefix else here
            tc = [*prefix, "tc", "qdisc", "add", "dev", dev, "root", *shape]
            done = subprocess.run(tc, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                _skip(f"the {shape[0]} qdisc is not available: {done.stderr.strip()}")
        yield ns, f"{subnet}.2"
    finally:
        _ip("link", "del", here)
        _ip("netns", "del", ns)


@contextlib.asynccontextmanager
async def _server_in(ns: str, host: str) -> AsyncIterator[str]:
    """Run ``_netns_server`` inside ``ns``; yield its URL."""
    proc = await asyncio.create_subprocess_exec(
        *["ip", "netns", "exec", ns, sys.executable, "-m", "tests.adversarial._netns_server"],
        host,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.startswith(b"READY "), line
        yield f"http://{host}:{int(line.split()[1])}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def test_calls_across_a_lossy_slow_link_are_ok_and_intact(link: tuple[str, str]) -> None:
    """Point 19: every call ``Ok`` within its bound; the server hashed the exact image."""
    ns, host = link
    async with _server_in(ns, host) as url:
        fds = await stable_fd_count()
        async with OrqCore(server_url=url, retry_config=RETRIES, timeout_ms=15_000) as core:
            calls = [edit(core, body(IMAGE)) for _ in range(CALLS)]
            results: list[Any] = await asyncio.wait_for(asyncio.gather(*calls), 60)
        assert await stable_fd_count() <= fds, "descriptors leaked"
    digest = hashlib.sha256(IMAGE).hexdigest()
    for result in results:
        assert isinstance(result, Ok), result
        assert result.meta.headers["X-Image-Sha256"] == digest
