"""An unknown keyword of the facade's ``create`` is a static error."""

from __future__ import annotations

from orq_async import Orq


async def typo(orq: Orq) -> None:
    # expect: mypy=call-overload,call-arg pyright=reportCallIssue
    await orq.router.images.edits.create(modle="m", prompt="p")
