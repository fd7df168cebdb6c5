"""Forward compatibility: per-call extra fields and files, and unknown response fields."""

from __future__ import annotations

from pathlib import Path

from orq_async import Err, OrqCore, RequestOptions
from orq_async.errors import SDKValidationError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import FileInput
from tests.conftest import PNG, Server

BODY = {"model": "m", "prompt": "p", "image": PNG}


async def test_extra_fields_and_a_mask_file_are_sent(server: Server, tmp_path: Path) -> None:
    mask = tmp_path / "mask.png"
    mask.write_bytes(PNG)
    options = RequestOptions(
        extra_fields={"background": "transparent", "moderation": {"level": "low"}, "seed": 7},
        extra_files={"mask": mask, "attachment": FileInput("notes.txt", b"plain text")},
    )
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, BODY, options)
    assert res.ok
    req = server.requests[0]
    assert req.one("background").text == "transparent"
    assert req.one("background").content_type is None
    assert req.one("moderation").json == {"level": "low"}
    assert req.one("moderation").content_type == "application/json"
    assert req.one("seed").text == "7"
    m = req.one("mask")
    assert (m.filename, m.content_type, m.data) == ("mask.png", "image/png", PNG)
    a = req.one("attachment")
    assert (a.filename, a.content_type, a.data) == (
        "notes.txt",
        "application/octet-stream",
        b"plain text",
    )


async def test_bad_extras_are_validation_errors(server: Server, tmp_path: Path) -> None:
    options = RequestOptions(
        extra_fields={"model": "x", "weird": {1, 2}, "nan": float("nan")},
        extra_files={"image": PNG, "mask": 42, "gone": tmp_path / "missing.png"},
    )
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, BODY, options)
    assert isinstance(res, Err)
    assert isinstance(res.error, SDKValidationError)
    paths = {p.path: p.message for p in res.error.problems}
    assert set(paths) == {
        "options.extra_fields.model",
        "options.extra_fields.weird",
        "options.extra_fields.nan",
        "options.extra_files.image",
        "options.extra_files.mask",
    }
    assert "not JSON-serialisable" in paths["options.extra_fields.weird"]
    assert server.requests == []
