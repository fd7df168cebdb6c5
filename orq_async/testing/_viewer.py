"""The trace viewer: a page at ``/`` showing the recent requests, live, with their images.

The page is one packaged file (``viewer.html``: HTML, CSS and a little JavaScript; no build
step, nothing fetched from outside). It polls ``GET /v2/emulator/feed`` (the traces newest
first, with how many images are kept for each) and shows thumbnails served by ``GET
/v2/emulator/images/{request id}/{input|output}/{index}``; its form posts to ``POST
/v2/emulator/faults``. The API key is never on it: traces do not hold it. With an admin token,
open the page as ``/?token=<token>``; the page sends the token back on every call.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from ._errors import GatewayError
from ._state import STATE

__all__ = ["FEED_LIMIT", "add_viewer_routes", "page"]

#: The most traces one feed answer carries (the newest).
FEED_LIMIT = 200


def page() -> bytes:
    """Return the packaged viewer page."""
    return resources.files(__name__.rpartition(".")[0]).joinpath("viewer.html").read_bytes()


async def _page(request: web.Request) -> web.Response:
    return web.Response(
        body=page(),
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _feed(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise GatewayError(400, "since: must be an integer", param="since") from None
    newest = [trace for trace in reversed(state.traces.list()) if trace.seq > since][:FEED_LIMIT]
    items = [{**trace.to_json(), "images": state.images.counts(trace.id)} for trace in newest]
    return web.json_response({"traces": items, "pending_faults": len(state.faults)})


async def _image(request: web.Request) -> web.Response:
    info = request.match_info
    index = int(info["index"])
    stored = request.app[STATE].images.get(info["request_id"], info["kind"], index)
    if stored is None:
        raise GatewayError(404, "no such image kept", type="not_found_error", code="not_found")
    return web.Response(body=stored[0], content_type=stored[1])


def add_viewer_routes(app: web.Application) -> None:
    """Add the viewer page and its data endpoints to the emulator's application."""
    app.router.add_get("/", _page)
    app.router.add_get("/v2/emulator/feed", _feed)
    app.router.add_get(
        "/v2/emulator/images/{request_id}/{kind:input|output}/{index:[0-9]{1,3}}", _image
    )
