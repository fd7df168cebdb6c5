"""The emulator's admin surface: traces, fault injection, health, and the token guarding it.

- ``GET /v2/emulator/traces`` (JSON list, oldest first), ``DELETE /v2/emulator/traces``.
- ``GET /v2/emulator/faults`` (``{"pending": n}``), ``POST /v2/emulator/faults`` (JSON
  ``{"status", "times"?, "retry_after"?, "retry_after_ms"?}``), ``DELETE /v2/emulator/faults``.
- ``GET /v2/emulator/health``: ``{"status": "ok"}`` (open: it reveals nothing).

The traces show prompts, identities and images. When the emulator has an admin token (always
when it listens beyond loopback), every admin path and the viewer answer 401, revealing
nothing, unless the request carries the token as ``X-Emulator-Token: <token>``, ``Authorization:
Bearer <token>`` or ``?token=<token>``. The operation keeps its own API-key check and the files
answered with ``response_format=url`` (unguessable ids) stay open to API clients.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web

from ._errors import GatewayError
from ._faults import status_fault
from ._state import STATE

__all__ = ["ADMIN_PREFIX", "add_admin_routes", "admin_guard", "admin_token_for", "is_loopback"]

ADMIN_PREFIX = "/v2/emulator/"
_OPEN = ("/v2/emulator/health", "/v2/emulator/files/")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_token_for(host: str, token: str | None) -> str | None:
    """The admin token: the given one, else a random one beyond loopback (None: open)."""
    if token is None:
        return None if is_loopback(host) else secrets.token_urlsafe(18)
    if not token.strip():
        raise ValueError("admin_token must not be empty")
    return token


def _guarded(path: str) -> bool:
    if path.startswith(_OPEN):
        return False
    return path == "/" or path.startswith(ADMIN_PREFIX)


def _presented(request: web.Request) -> str:
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    return (
        request.headers.get("X-Emulator-Token")
        or (bearer.strip() if scheme.lower() == "bearer" else "")
        or request.query.get("token", "")
    )


@web.middleware
async def admin_guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Refuse the admin surface without the admin token (when the emulator has one)."""
    token = request.app[STATE].admin_token
    if (
        token is not None
        and _guarded(request.path)
        and not hmac.compare_digest(_presented(request).encode(), token.encode())
    ):
        raise GatewayError(
            401,
            "the emulator's admin surface needs its admin token",
            type="authentication_error",
            code="admin_token_required",
        )
    return await handler(request)


async def _traces(request: web.Request) -> web.Response:
    return web.json_response([trace.to_json() for trace in request.app[STATE].traces.list()])


async def _clear_traces(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.traces.clear()
    state.images.clear()
    return web.Response(status=204)


def _field(body: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = body.get(key, default)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise GatewayError(400, f"{key}: must be a {kind.__name__}", param=key)
    return value


async def _add_fault(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GatewayError(400, "send a JSON object: {status, times, retry_after}")
    body = cast(dict[str, Any], body)
    unknown = set(body) - {"status", "times", "retry_after", "retry_after_ms"}
    if unknown:
        raise GatewayError(400, f"{min(unknown)}: unknown field", param=min(unknown))
    times = _field(body, "times", int, 1)
    try:
        fault = status_fault(
            _field(body, "status", int, 503),
            retry_after=_field(body, "retry_after", str),
            retry_after_ms=_field(body, "retry_after_ms", int),
        )
        request.app[STATE].faults.add(fault, times)
    except ValueError as exc:
        raise GatewayError(400, str(exc)) from None
    return web.json_response({"pending": len(request.app[STATE].faults)}, status=201)


async def _faults(request: web.Request) -> web.Response:
    return web.json_response({"pending": len(request.app[STATE].faults)})


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.Response(status=204)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def add_admin_routes(app: web.Application) -> None:
    """Add the admin endpoints to the emulator's application."""
    app.router.add_get("/v2/emulator/traces", _traces)
    app.router.add_delete("/v2/emulator/traces", _clear_traces)
    app.router.add_get("/v2/emulator/faults", _faults)
    app.router.add_post("/v2/emulator/faults", _add_fault)
    app.router.add_delete("/v2/emulator/faults", _clear_faults)
    app.router.add_get("/v2/emulator/health", _health)
