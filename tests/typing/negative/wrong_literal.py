"""An enum value that does not exist is a static error."""

from __future__ import annotations

from orq_async import OrqCore
from orq_async.funcs.router_images_edits_create import router_images_edits_create


async def wrong(core: OrqCore) -> None:
    # expect: mypy=arg-type pyright=reportArgumentType
    await router_images_edits_create(core, {"model": "m", "prompt": "p", "quality": "ultra"})
