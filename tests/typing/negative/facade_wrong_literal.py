"""A wrong enum value in a facade keyword is a static error."""

from __future__ import annotations

from orq_async import Orq


async def wrong(orq: Orq) -> None:
    # expect: mypy=call-overload pyright=reportArgumentType
    await orq.router.images.edits.with_result.create(model="m", prompt="p", quality="ultra")
