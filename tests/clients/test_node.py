"""The official TypeScript SDK (``@orq-ai/node``) through Node.js against the emulator.

Set-up installs the locked package (``node/package-lock.json``) into a temp folder with
``npm ci``; the tests skip, with the reason printed, when ``node`` or ``npm`` is missing or the
install fails (no registry).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orq_async.testing import Emulator

from .conftest import API_KEY, MODEL, RED

HERE = Path(__file__).parent / "node"
NODE, NPM = shutil.which("node"), shutil.which("npm")


@pytest.fixture(scope="session")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``client.mjs`` and the locked ``@orq-ai/node``."""
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed for the @orq-ai/node test (not on PATH)")
    folder = tmp_path_factory.mktemp("orq-ai-node")
    for name in ("package.json", "package-lock.json", "client.mjs"):
        shutil.copy(HERE / name, folder / name)
    install = subprocess.run(
        [NPM, "ci", "--omit=peer", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if install.returncode != 0:
        pytest.skip(f"npm ci of @orq-ai/node failed: {install.stderr.strip()[-300:]}")
    (folder / "red.png").write_bytes(RED)
    return folder


async def test_the_official_node_client(node_client: Path, emu: Emulator) -> None:
    """One Node.js process makes every call (it takes seconds to start on a busy machine)."""
    assert NODE is not None
    proc = await asyncio.create_subprocess_exec(
        NODE,
        "client.mjs",
        cwd=node_client,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None

    async def call(model: str, response_format: str = "b64_json") -> dict[str, Any]:
        assert proc.stdin is not None
        assert proc.stdout is not None
        args = {"serverURL": emu.url, "apiKey": API_KEY, "imagePath": "red.png", "model": model}
        proc.stdin.write(json.dumps(args | {"responseFormat": response_format}).encode() + b"\n")
        await proc.stdin.drain()
        result: dict[str, Any] = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        return result

    try:
        # A success passes the SDK's own response schema (no "url": null beside b64_json).
        result = await call(MODEL)
        assert result["ok"], result
        assert [base64.b64decode(item["b64Json"]) for item in result["data"]] == [RED, RED]
        assert result["usage"]["inputTokensDetails"]["imageTokens"] == 64
        trace = emu.traces[-1]
        assert (trace.status, trace.identity) == (200, {"id": "node_1"})
        assert [(p.name, p.filename) for p in trace.parts if p.filename] == [("image", "blob")]
        assert json.loads(trace.fields["cache"]) == {"type": "exact_match", "ttl": 3600}

        result = await call(MODEL, "url")
        assert result["ok"], result
        assert all(item["url"].startswith(emu.url) for item in result["data"])

        result = await call("local/no-such-model")
        assert (result["ok"], result["isAPIError"], result["statusCode"]) == (False, True, 400)
        assert "model" in result["message"]

        emu.inject(429, retry_after="1")
        result = await call(MODEL)
        assert (result["ok"], result["isAPIError"], result["statusCode"]) == (False, True, 429)
    finally:
        proc.stdin.close()
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
