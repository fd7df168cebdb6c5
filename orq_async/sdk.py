"""``Orq``: a thin method-style facade over the standalone functions (the seed's first example).

``await orq.router.images.edits.create(model=..., prompt=...)`` returns the value or raises the
:class:`~orq_async.errors.OrqError`. Operation modules are imported on first use.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from orq_async.core import OrqCore

if TYPE_CHECKING:
    from orq_async.models.request import CreateImageEditRequestBody
    from orq_async.models.response import CreateImageEditResponseBody
    from orq_async.options import RequestOptions

__all__ = ["Orq"]


class _Edits:
    def __init__(self, core: OrqCore) -> None:
        self._core = core

    async def create(
        self,
        request: CreateImageEditRequestBody | None = None,
        *,
        options: RequestOptions | None = None,
        **fields: Any,
    ) -> CreateImageEditResponseBody:
        """Create an image edit; pass a request model or the fields as keywords.

        Raises:
            OrqError: any failure, e.g. ``RateLimitError`` or ``SDKValidationError``.
        """
        from orq_async.funcs.router_images_edits_create import router_images_edits_create

        if request is not None and fields:
            raise TypeError("pass either a request model or keyword fields, not both")
        body = request if request is not None else fields
        result = await router_images_edits_create(self._core, body, options)
        return result.unwrap()


class _Images:
    def __init__(self, core: OrqCore) -> None:
        self.edits = _Edits(core)


class _Router:
    def __init__(self, core: OrqCore) -> None:
        self.images = _Images(core)


class Orq:
    """Method-style client: ``Orq(...).router.images.edits.create(...)``.

    Takes the same arguments as :class:`OrqCore` (or an existing ``core=``).
    """

    def __init__(self, *args: Any, core: OrqCore | None = None, **kwargs: Any) -> None:
        if core is not None and (args or kwargs):
            raise TypeError("pass either core= or OrqCore arguments, not both")
        self.core = core if core is not None else OrqCore(*args, **kwargs)
        self.router = _Router(self.core)

    def __repr__(self) -> str:
        return f"<Orq {self.core!r}>"

    async def __aenter__(self) -> Orq:
        await self.core.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.core.aclose()

    async def aclose(self) -> None:
        """Close the underlying core."""
        await self.core.aclose()
