"""A local emulator of the orq.ai gateway's image-edit operation, for tests and offline demos.

::

    from orq_async.testing import Emulator

    async with Emulator(api_keys={"k"}, seed=1) as emu:
        ...  # OrqCore(server_url=emu.url, api_key="k")
        emu.inject(503, times=2, retry_after="0")
        assert emu.traces[-1].status == 200

It is a real aiohttp server on 127.0.0.1 with local models (``local/echo``, ``local/invert``,
``local/grayscale``, fault models; any non-``local/`` name is served by echo), the gateway's
retry / fallbacks / timeout / load balancer / cache / prompt semantics, a trace of every
request (served as JSON and as a live page at ``/``), gateway-level fault injection and an
optional per-key rate limit. It takes the contract's *names* from ``orq_async.contract`` and
validates independently of the SDK (an oracle); the pixel models need Pillow
(``pip install 'orq-async[emulator]'``). Numbers are read as the gateway, a Node service, reads
them (``"1.0"`` is 1); answers carry an ``x-request-id`` and no ``null`` the schema refuses.

Gateway options may be given at the top level and inside ``orq``; per option (``retry``,
``fallbacks``, ``fallback_on_codes``, ``cache``, ``load_balancer``, ``timeout``, ``name``), the
one inside ``orq`` wins and replaces the top-level one whole.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import BODY_LIMIT, EDITS_PATH
    from ._server import Emulator, serve, serve_forever
    from ._traces import PartInfo, ProviderCall, Trace

__all__ = [
    "BODY_LIMIT",
    "EDITS_PATH",
    "Emulator",
    "PartInfo",
    "ProviderCall",
    "Trace",
    "serve",
    "serve_forever",
]

# Lazy (PEP 562): the pytest plugin lives in this package and loads in every pytest run, so
# importing the package must not import aiohttp and the server.
_WHERE = {
    "BODY_LIMIT": "._app",
    "EDITS_PATH": "._app",
    "Emulator": "._server",
    "serve": "._server",
    "serve_forever": "._server",
    "PartInfo": "._traces",
    "ProviderCall": "._traces",
    "Trace": "._traces",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
