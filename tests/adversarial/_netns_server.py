"""A tiny image-edit server for the namespace link test; run inside the server's namespace.

``python -m tests.adversarial._netns_server HOST`` listens on ``HOST`` (port chosen by the
kernel), prints ``READY <port>`` and answers every edit with the usual success body and an
``X-Image-Sha256`` header: the SHA-256 of the ``image`` part as this side received it.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

from aiohttp import web

from tests.conftest import OK_BODY, parse_multipart


async def _edit(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    parts = parse_multipart(request.headers.get("Content-Type", ""), raw)
    image = b"".join(p.data for p in parts if p.name == "image")
    digest = hashlib.sha256(image).hexdigest()
    return web.json_response(OK_BODY, headers={"X-Image-Sha256": digest})


async def _serve(host: str) -> None:
    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/v2/router/images/edits", _edit)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1]))
