"""Debug logging: what the pipeline did, never the key, never image bytes."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from aiohttp import web

from orq_async import OrqCore, RequestOptions, RetryConfig
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.retries import BackoffStrategy
from tests.conftest import PNG, FakeSleep, Server

KEY = "sk-logging-secret"


async def test_debug_logger_records_the_pipeline(
    server: Server, fake_sleep: FakeSleep, caplog: pytest.LogCaptureFixture
) -> None:
    mine = logging.getLogger("tests.orq")
    caplog.set_level(logging.DEBUG, logger="tests.orq")
    server.reply(web.json_response({}, status=503, headers={"Retry-After": "0"}))
    retries = RetryConfig("backoff", BackoffStrategy(1, 1, 1, 60_000))
    async with OrqCore(KEY, server_url=server.url, debug_logger=mine, sleep=fake_sleep) as core:
        await router_images_edits_create(
            core, {"model": "m", "prompt": "p", "image": PNG}, RequestOptions(retries=retries)
        )
    text = caplog.text
    assert "attempt 1: body" in text
    assert f"1 file(s) of {len(PNG)} bytes" in text
    assert "attempt 1 -> 503" in text
    assert "retrying after attempt 1 (503) in 0.000 s" in text
    assert "attempt 2 -> 200" in text
    assert "createImageEdit -> Ok, status 200, 2 attempt(s)" in text
    assert "'Authorization': '[REDACTED]'" in text
    assert KEY not in text
    assert "\\x89PNG" not in text


def test_orq_debug_env_switches_logging_on_to_stderr() -> None:
    code = (
        "from orq_async.core import OrqCore; import logging;"
        "c = OrqCore('k'); logging.getLogger('orq_async').debug('hello from orq')"
    )
    env_on = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"ORQ_DEBUG": "1"},
    )
    env_off = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env={}
    )
    assert "hello from orq" in env_on.stderr
    assert "hello from orq" not in env_off.stderr
