"""``curl --form``, as the gateway's documentation shows it, against the emulator."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path

import pytest

from orq_async.testing import EDITS_PATH, Emulator

from .conftest import API_KEY, BLUE, MODEL, RED

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not on PATH")


async def _curl(emu: Emulator, *form: str, key: str = API_KEY) -> tuple[int, dict[str, object]]:
    """Run curl; return the HTTP status and the JSON body it printed."""
    assert CURL is not None
    args = [CURL, "--silent", "--show-error", "--write-out", "\n%{http_code}"]
    args += ["--header", f"Authorization: Bearer {key}"]
    for field in form:
        args += ["--form", field]
    proc = await asyncio.create_subprocess_exec(
        *args, emu.url + EDITS_PATH, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body)


async def test_documented_form_call_with_two_images(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(RED)
    (tmp_path / "b.png").write_bytes(BLUE)
    status, body = await _curl(
        emu,
        f"model={MODEL}",
        "prompt=Put the logo on the mug",
        f"image=@{tmp_path / 'a.png'}",
        f"image=@{tmp_path / 'b.png'}",
        "n=2",
        'cache={"type": "exact_match", "ttl": 3600};type=application/json',
        "fallback_on_codes=429",
        "fallback_on_codes=503",
    )
    assert status == 200, body
    data = body["data"]
    assert isinstance(data, list)
    assert [base64.b64decode(item["b64_json"]) for item in data] == [RED, RED]
    assert all(set(item) == {"b64_json"} for item in data)
    assert emu.traces[-1].image_count == 2


async def test_errors_are_json_naming_the_field(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(RED)
    image = f"image=@{tmp_path / 'a.png'}"
    status, body = await _curl(emu, "model=local/nope", "prompt=p", image)
    assert (status, body["error"]["param"]) == (400, "model")  # type: ignore[index]
    emu.inject(429, retry_after="1")
    status, body = await _curl(emu, f"model={MODEL}", "prompt=p", image)
    assert (status, body["error"]["code"]) == (429, "injected_fault")  # type: ignore[index]
