"""``createImageEdit``: ``POST /v2/router/images/edits``, as a standalone coroutine.

A fixed pipeline, run by :meth:`OrqCore.call`: admission to the connection pool, then
:func:`~orq_async._prepare.prepare` (validate, inspect files, encode; its ``prepare_now``
without awaiting for the common call), then :meth:`OrqCore.send` (plan, gate, retries,
classify, decode once, hooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orq_async.core import Operation, OrqCore
from orq_async.errors import OrqError
from orq_async.models.endpoint import OPERATION_ID, PATH
from orq_async.options import RequestOptions
from orq_async.result import Result

if TYPE_CHECKING:
    from orq_async.models.dicts import ImageEditBody
    from orq_async.models.response import CreateImageEditResponseBody

__all__ = ["OPERATION_ID", "PATH", "router_images_edits_create"]


_OPERATION: Operation[CreateImageEditResponseBody] = Operation(
    OPERATION_ID, PATH, "orq_async._edit_steps"
)


async def router_images_edits_create(
    core: OrqCore,
    body: ImageEditBody,
    options: RequestOptions | None = None,
) -> Result[CreateImageEditResponseBody, OrqError]:
    """Edit images: validate → encode → send → decode, returning ``Ok`` or ``Err``.

    Args:
        core: the shared :class:`OrqCore`.
        body: the request, as the model or a dict with the wire's snake_case keys (typed as
            :class:`~orq_async.models.dicts.CreateImageEditRequestDict`, so a type checker
            catches a misspelt key or a wrong literal; any mapping is validated at runtime).
        options: per-call options (client retries, timeout, server URL, headers).

    Returns:
        ``Ok(CreateImageEditResponseBody)``, or ``Err`` holding an :class:`OrqError`; input
        problems come back as ``Err(SDKValidationError)`` before anything is sent.

    Raises:
        TypeError: ``core`` is not an OrqCore. RuntimeError: the core is closed.
    """
    if not isinstance(core, OrqCore):
        raise TypeError(f"core must be an OrqCore, got {type(core).__name__}")
    return await core.call(_OPERATION, body, options)
