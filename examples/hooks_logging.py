"""Hooks and debug logging: tag every attempt with a header, turn a 404 into your own error.

- ``before_request`` runs once per attempt (a retried call runs it again), so it is the place
  for headers that must be fresh on each attempt: a tenant id, a signature, the attempt number.
- ``after_error`` runs once per call, on the final error; returning another ``OrqError``
  replaces it in the ``Err`` the caller gets. ``after_success`` runs once per call on the ``Ok``.
- ``debug_logger=`` sends the pipeline's DEBUG lines (URL, attempt, sizes, status, timing,
  retry waits; never the key, never image bytes) to a logger of yours. ``ORQ_DEBUG=1`` does the
  same for the ``orq_async`` logger, printing to stderr.

Run::

    python examples/hooks_logging.py                         # against a local stand-in
    ORQ_SERVER_URL=https://my.orq.ai ORQ_API_KEY=... python examples/hooks_logging.py
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping

from _local_gateway import gateway_url, png

from orq_async import Err, Ok, OrqCore
from orq_async.errors import NotFoundError, OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.hooks import HookContext, Hooks
from orq_async.models.response import CreateImageEditResponseBody
from orq_async.result import ResponseMeta, Result

log = logging.getLogger("myapp.orq")


class ModelUnavailableError(OrqError):
    """Our service's own error: the gateway does not offer the model we asked for."""


def tag_attempt(ctx: HookContext, headers: MutableMapping[str, str]) -> None:
    """before_request: runs before every attempt; ``Authorization`` shows as redacted here."""
    headers["X-Tenant"] = "acme"
    headers["X-Attempt"] = str(ctx.attempt)


def map_not_found(ctx: HookContext, error: OrqError, meta: ResponseMeta) -> OrqError | None:
    """after_error: runs once per call; return an error to replace ``error``, None to keep it."""
    if isinstance(error, NotFoundError):
        return ModelUnavailableError(f"{ctx.operation_id}: model unavailable ({meta.request_id})")
    return None


def log_usage(ctx: HookContext, value: CreateImageEditResponseBody, meta: ResponseMeta) -> None:
    """after_success: runs once per call, on the final Ok."""
    tokens = value.usage.total_tokens if value.usage else None
    log.info("%s ok after %d attempt(s), %s tokens", ctx.operation_id, meta.attempts, tokens)


async def main(server_url: str) -> list[Result[CreateImageEditResponseBody, OrqError]]:
    """Make one call that succeeds and one that fails; return both results."""
    hooks = Hooks(before_request=[tag_attempt], after_error=[map_not_found])
    async with OrqCore(server_url=server_url, hooks=hooks, debug_logger=log) as core:
        core.hooks.after_success.append(log_usage)  # hooks may also be added later
        results = [
            await router_images_edits_create(
                core, {"model": model, "prompt": "Make it blue", "image": png(4, 4, (0, 0, 0, 255))}
            )
            for model in ("openai/gpt-image-1", "acme/no-such-model")
        ]
    for res in results:
        match res:
            case Ok(value):
                print(f"ok: {len(value.data)} image(s), request {res.meta.request_id}")
            case Err(ModelUnavailableError() as e):
                print(f"mapped by after_error: {e}")
            case Err(e):
                print(f"failed: {e!r}")
    return results


async def _standalone() -> None:
    async with gateway_url() as url:
        await main(url)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.DEBUG)  # the SDK logs to debug_logger only when DEBUG is enabled
    asyncio.run(_standalone())
