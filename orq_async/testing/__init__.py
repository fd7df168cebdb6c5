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
request, and gateway-level fault injection. It imports nothing from ``orq_async`` but
``orq_async.models.limits``; the pixel models need Pillow (``pip install 'orq-async[emulator]'``).

Gateway options may be given at the top level and inside ``orq``; per option (``retry``,
``fallbacks``, ``cache``, ``load_balancer``, ``timeout``, ``name``), the one inside ``orq``
wins and replaces the top-level one whole.
"""

from ._app import BODY_LIMIT, EDITS_PATH
from ._server import Emulator, serve, serve_forever
from ._traces import Attempt, PartInfo, Trace

__all__ = [
    "BODY_LIMIT",
    "EDITS_PATH",
    "Attempt",
    "Emulator",
    "PartInfo",
    "Trace",
    "serve",
    "serve_forever",
]
