"""The facade's keywords are typed: ``n`` is an int."""

from __future__ import annotations

from orq_async import Orq


async def wrong(orq: Orq) -> None:
    # expect: mypy=call-overload pyright=reportArgumentType
    await orq.router.images.edits.create(model="m", prompt="p", n="three")
