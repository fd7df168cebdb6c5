"""A typo in a dict body's key is a static error (runtime validation reports it too)."""

from __future__ import annotations

from orq_async import OrqCore
from orq_async.funcs.router_images_edits_create import router_images_edits_create


async def typo(core: OrqCore) -> None:
    # expect: mypy=arg-type pyright=reportArgumentType
    await router_images_edits_create(core, {"modle": "m", "prompt": "p"})
