"""Bring your own aiohttp session: proxy, SSL context, connection limits, TraceConfig.

``OrqCore(session=...)`` uses the session exactly as given (its connector, proxy, SSL context,
default headers and trace configs) and never closes it: the ``async with`` that created the
session closes it, after the core is done. Without ``session=``, the core makes its own and
closes it in ``aclose()``.

Run::

    python examples/custom_session.py                        # against a local stand-in
    ORQ_SERVER_URL=https://gateway.internal ORQ_CA_FILE=corp-ca.pem \\
        ORQ_PROXY=http://proxy.internal:3128 python examples/custom_session.py

``ORQ_CA_FILE`` adds a CA to trust (a private gateway, a TLS-inspecting proxy); ``ORQ_PROXY``
routes the calls through an HTTP proxy. Without ``ORQ_PROXY`` the session has
``trust_env=True``, so ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` apply.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from types import SimpleNamespace

import aiohttp
from _local_gateway import gateway_url, png
from aiohttp import ClientSession, TraceRequestEndParams, TraceRequestStartParams

from orq_async import OrqCore
from orq_async.funcs.router_images_edits_create import router_images_edits_create


def timing_trace(lines: list[str]) -> aiohttp.TraceConfig:
    """A TraceConfig appending ``POST <url> -> <status> in <ms>`` for every HTTP attempt."""

    async def on_start(_: ClientSession, ctx: SimpleNamespace, __: TraceRequestStartParams) -> None:
        ctx.started = time.perf_counter()

    async def on_end(_: ClientSession, ctx: SimpleNamespace, params: TraceRequestEndParams) -> None:
        ms = (time.perf_counter() - ctx.started) * 1000
        lines.append(f"{params.method} {params.url} -> {params.response.status} in {ms:.1f} ms")

    config = aiohttp.TraceConfig()
    config.on_request_start.append(on_start)
    config.on_request_end.append(on_end)
    return config


async def main(
    server_url: str, *, proxy: str | None = None, cafile: str | None = None
) -> list[str]:
    """Make two concurrent calls through a session of ours; return the trace lines."""
    lines: list[str] = []
    ssl_context = ssl.create_default_context(cafile=cafile)  # system CAs, plus cafile if given
    connector = aiohttp.TCPConnector(ssl=ssl_context, limit=10, limit_per_host=4)
    async with aiohttp.ClientSession(
        connector=connector,
        proxy=proxy,
        trust_env=proxy is None,
        headers={"X-Team": "imaging"},  # sent with every request, the SDK's included
        trace_configs=[timing_trace(lines)],
    ) as session:
        async with OrqCore(server_url=server_url, session=session) as core:
            image = png(2, 2, (9, 9, 9, 255))
            body = {"model": "openai/gpt-image-1", "prompt": "Sharpen", "image": image}
            results = await asyncio.gather(
                router_images_edits_create(core, body), router_images_edits_create(core, body)
            )
        assert not session.closed  # the core never closes a session it did not create
    for res in results:
        print("ok" if res.ok else f"failed: {res.unwrap_err()!r}")
    print("\n".join(lines))
    return lines


async def _standalone() -> None:
    async with gateway_url() as url:
        await main(url, proxy=os.environ.get("ORQ_PROXY"), cafile=os.environ.get("ORQ_CA_FILE"))


if __name__ == "__main__":
    asyncio.run(_standalone())
