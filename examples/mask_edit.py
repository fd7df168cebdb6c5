"""Forward compatibility: send fields the SDK does not model yet, read fields it does not know.

- ``RequestOptions(extra_files={"mask": Path(...)})`` adds a file part (streamed from disk like
  ``image``, any file type), here an OpenAI-style ``mask``: a PNG of the same size as the image,
  transparent where the edit should happen.
- ``RequestOptions(extra_fields={...})`` adds form fields: a ``str`` as a text part, anything
  else (numbers, lists, dicts) as an ``application/json`` part. Names the SDK models (``model``,
  ``image``, ...) are refused, so an extra never silently overrides a checked field.
- A response field the models do not declare is kept in ``.extra`` (on the body, on each
  ``data`` item and on ``usage``), instead of being dropped.

Run::

    python examples/mask_edit.py                             # against a local stand-in
    ORQ_SERVER_URL=https://my.orq.ai ORQ_API_KEY=... python examples/mask_edit.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from _local_gateway import gateway_url, write_samples

from orq_async import OrqCore, RequestOptions
from orq_async.errors import OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models.response import CreateImageEditResponseBody
from orq_async.result import Result


async def edit_with_mask(
    core: OrqCore, image: Path, mask: Path
) -> Result[CreateImageEditResponseBody, OrqError]:
    """Repaint the transparent area of ``mask``, asking for a transparent background."""
    options = RequestOptions(
        extra_files={"mask": mask},
        extra_fields={"background": "transparent", "output_compression": 80},
    )
    body = {
        "model": "openai/gpt-image-1",
        "prompt": "Fill the masked area with a round window",
        "image": image,
    }
    return await router_images_edits_create(core, body, options)


async def main(server_url: str, workdir: Path) -> CreateImageEditResponseBody:
    """Write a sample image and mask to ``workdir``, edit, and return the response."""
    image, mask = write_samples(workdir)
    async with OrqCore(server_url=server_url) as core:
        res = await edit_with_mask(core, image, mask)
    value = res.unwrap()  # raises the OrqError if the call failed
    (workdir / "edited.png").write_bytes(value.data[0].decode())
    print(f"edited image written, {len(value.data)} output(s)")
    print(f"fields the SDK does not model: {dict(value.extra)}")
    print(f"background: {value.extra.get('background', '(not sent back)')}")
    return value


async def _standalone() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with gateway_url() as url:
            await main(url, Path(tmp))


if __name__ == "__main__":
    asyncio.run(_standalone())
