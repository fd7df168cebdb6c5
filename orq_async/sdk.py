"""``Orq``: a thin method-style facade over the standalone functions (the seed's first example).

``await orq.router.images.edits.create(model=..., prompt=...)`` returns the value or raises the
:class:`~orq_async.errors.OrqError`; ``await orq.router.images.edits.with_result.create(...)``
takes the same arguments and returns the :class:`~orq_async.result.Result` instead, whose
``.meta`` (status, headers, request id, attempts) is there on success too.

Both are typed: the keywords are :class:`~orq_async.models.dicts.CreateImageEditRequestDict`'s
(``Unpack``), and ``Orq(...)`` takes exactly :class:`~orq_async.core.OrqCore`'s parameters,
copied from its ``__init__`` by :func:`_parameters_of` (for checkers and for
``inspect.signature``), so the two cannot drift. Operation modules are imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, cast, overload

from orq_async.core import OrqCore

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is new in 3.11; not needed at runtime

    from orq_async.errors import OrqError
    from orq_async.models.dicts import CreateImageEditRequestDict, ImageEditBody
    from orq_async.models.response import CreateImageEditResponseBody
    from orq_async.options import RequestOptions
    from orq_async.result import Result

__all__ = ["Orq"]

P = ParamSpec("P")


def _parameters_of(
    source: Callable[Concatenate[Any, P], object],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, P], None]]:
    """Give the decorated ``__init__`` the parameters of ``source`` (another ``__init__``)."""

    def copy(init: Callable[..., None]) -> Callable[Concatenate[Any, P], None]:
        init.__wrapped__ = source  # type: ignore[attr-defined]  # inspect.signature follows it
        return init

    return copy


async def _call(
    core: OrqCore,
    request: ImageEditBody | None,
    options: RequestOptions | None,
    fields: dict[str, Any],
) -> Result[CreateImageEditResponseBody, OrqError]:
    from orq_async.funcs.router_images_edits_create import router_images_edits_create

    if request is not None and fields:
        raise TypeError("pass either a request (model or dict) or keyword fields, not both")
    body = request if request is not None else cast("ImageEditBody", fields)
    return await router_images_edits_create(core, body, options)


class _EditsWithResult:
    """``edits.with_result.create(...)``: the ``Result`` (with ``meta``), never raised."""

    def __init__(self, core: OrqCore) -> None:
        self._core = core

    @overload
    async def create(
        self, request: ImageEditBody, *, options: RequestOptions | None = None
    ) -> Result[CreateImageEditResponseBody, OrqError]: ...
    @overload
    async def create(
        self,
        *,
        options: RequestOptions | None = None,
        **fields: Unpack[CreateImageEditRequestDict],
    ) -> Result[CreateImageEditResponseBody, OrqError]: ...
    async def create(
        self,
        request: ImageEditBody | None = None,
        *,
        options: RequestOptions | None = None,
        **fields: Any,
    ) -> Result[CreateImageEditResponseBody, OrqError]:
        """Create an image edit and return ``Ok`` or ``Err``, each with ``.meta``."""
        return await _call(self._core, request, options, fields)


class _Edits:
    def __init__(self, core: OrqCore) -> None:
        self._core = core
        self.with_result = _EditsWithResult(core)

    @overload
    async def create(
        self, request: ImageEditBody, *, options: RequestOptions | None = None
    ) -> CreateImageEditResponseBody: ...
    @overload
    async def create(
        self,
        *,
        options: RequestOptions | None = None,
        **fields: Unpack[CreateImageEditRequestDict],
    ) -> CreateImageEditResponseBody: ...
    async def create(
        self,
        request: ImageEditBody | None = None,
        *,
        options: RequestOptions | None = None,
        **fields: Any,
    ) -> CreateImageEditResponseBody:
        """Create an image edit; pass a request (model or dict) or the fields as keywords.

        Raises:
            OrqError: any failure, e.g. ``RateLimitError`` or ``SDKValidationError``.
        """
        return (await _call(self._core, request, options, fields)).unwrap()


class _Images:
    def __init__(self, core: OrqCore) -> None:
        self.edits = _Edits(core)


class _Router:
    def __init__(self, core: OrqCore) -> None:
        self.images = _Images(core)


class Orq:
    """Method-style client: ``Orq(...).router.images.edits.create(...)``.

    Takes exactly the arguments of :class:`OrqCore`; :meth:`from_core` wraps an existing core
    (``Orq(core=...)`` is still accepted at runtime, untyped, for older code).
    """

    core: OrqCore
    router: _Router

    @_parameters_of(OrqCore.__init__)
    def __init__(self, *args: Any, core: OrqCore | None = None, **kwargs: Any) -> None:
        if core is not None and (args or kwargs):
            raise TypeError("pass either core= or OrqCore arguments, not both")
        self._attach(core if core is not None else OrqCore(*args, **kwargs))

    @classmethod
    def from_core(cls, core: OrqCore) -> Orq:
        """A facade over an existing core (which the facade then closes in ``aclose``)."""
        orq = cls.__new__(cls)
        orq._attach(core)
        return orq

    def _attach(self, core: OrqCore) -> None:
        self.core = core
        self.router = _Router(core)

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
