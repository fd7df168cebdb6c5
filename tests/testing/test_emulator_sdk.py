"""The same gateway semantics, driven through the SDK against the emulator."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from orq_async import Err, Ok, OrqCore
from orq_async.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.retries import BackoffStrategy, RetryConfig
from orq_async.testing import Emulator

from ._helpers import image_bytes, last, pixels

FAST = BackoffStrategy(initial_interval=1, max_interval=5)


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def red_png(tmp_path: Path) -> Path:
    path = tmp_path / "red.png"
    path.write_bytes(image_bytes((255, 0, 0)))
    return path


async def edit(emu: Emulator, body: dict[str, Any], **core_options: Any) -> Any:
    core_options.setdefault("api_key", "k")
    async with OrqCore(server_url=emu.url, **core_options) as core:
        return await router_images_edits_create(core, body)


async def test_echo_through_the_sdk(emu: Emulator, red_png: Path) -> None:
    res = await edit(emu, {"model": "local/echo", "prompt": "p", "image": red_png})
    assert isinstance(res, Ok), res
    assert res.value.data[0].decode() == image_bytes((255, 0, 0))
    assert res.value.output_format == "png"
    trace = last(emu)
    assert res.meta.request_id == trace.id  # the emulator's x-request-id
    assert trace.parts[2].filename == "red.png"
    assert trace.request_headers["user-agent"].startswith("orq-async/")
    assert "authorization" not in trace.request_headers


async def test_invert_several_images_n_and_size(emu: Emulator, red_png: Path) -> None:
    body = {
        "model": "local/invert",
        "prompt": "p",
        "image": [red_png, image_bytes((0, 0, 255))],
        "n": 2,
        "size": "3x3",
        "quality": "low",
    }
    res = await edit(emu, body)
    assert isinstance(res, Ok), res
    assert len(res.value.data) == 2
    image = Image.open(io.BytesIO(res.value.data[1].decode()))
    assert image.size == (3, 3)
    assert pixels(image.convert("RGB")) == {(0, 255, 255)}
    assert (res.value.size, res.value.quality) == ("3x3", "low")
    assert last(emu).image_count == 2
    assert last(emu).fields["n"] == "2"


async def test_url_response_format(emu: Emulator, red_png: Path) -> None:
    body = {"model": "local/echo", "prompt": "p", "image": red_png, "response_format": "url"}
    res = await edit(emu, body)
    assert isinstance(res, Ok), res
    assert res.value.data[0].url.startswith(emu.url + "/v2/emulator/files/")


async def test_image_as_url_and_data_uri(emu: Emulator) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(image_bytes()).decode()
    body = {"model": "local/echo", "prompt": "p", "image": ["https://example.com/a.png", data_uri]}
    res = await edit(emu, body)
    assert isinstance(res, Ok), res
    assert last(emu).image_count == 2


async def test_filename_with_quote_space_and_non_ascii(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / 'we"ird n\u00e4me.png'
    path.write_bytes(image_bytes())
    res = await edit(emu, {"model": "local/echo", "prompt": "p", "image": path})
    assert isinstance(res, Ok), res
    assert last(emu).parts[2].filename == 'we"ird n\u00e4me.png'


async def test_authentication(red_png: Path) -> None:
    body = {"model": "local/echo", "prompt": "p", "image": red_png}
    async with Emulator(api_keys={"right"}) as emu:
        res = await edit(emu, body, api_key="wrong")
        assert isinstance(res, Err)
        assert isinstance(res.error, AuthenticationError)
        assert res.error.status_code == 401
        assert "wrong" not in repr(res.error)
        assert isinstance(await edit(emu, body, api_key="right"), Ok)


async def test_every_gateway_option_is_understood(red_png: Path) -> None:
    body = {
        "model": "local/fail-503",
        "prompt": "",
        "image": red_png,
        "user": "u",
        "name": "top",
        "retry": {"count": 1, "on_codes": [503]},
        "fallbacks": [{"model": "local/flaky-1-500"}, {"model": "local/echo"}],
        "cache": {"type": "exact_match", "ttl": 60},
        "timeout": {"call_timeout": 5000},
        "orq": {
            "name": "inner",
            "retry": {"count": 2},
            "prompt": {"id": "p1", "version": "latest"},
            "identity": {
                "id": "contact_1",
                "display_name": "Jane",
                "email": "jane@example.com",
                "metadata": [{"team": "a"}],
                "logo_url": "https://example.com/j.png",
                "tags": ["x"],
            },
        },
    }
    async with Emulator(prompts={"p1": "stored prompt"}) as emu:
        res = await edit(emu, body)
        assert isinstance(res, Ok), res
        trace = last(emu)
        assert [(a.model, a.status) for a in trace.attempts] == [
            ("local/fail-503", 503),
            ("local/fail-503", 503),
            ("local/fail-503", 503),
            ("local/flaky-1-500", 500),
            ("local/flaky-1-500", 200),
        ]
        assert (trace.name, trace.user, trace.prompt) == ("inner", "u", "stored prompt")
        assert trace.identity is not None
        assert trace.identity["display_name"] == "Jane"
        again = await edit(emu, body)
        assert isinstance(again, Ok)
        assert last(emu).cache_hit is True


async def test_load_balancer_and_timeout(emu: Emulator, red_png: Path) -> None:
    body = {
        "model": "local/echo",
        "prompt": "p",
        "image": red_png,
        "load_balancer": {"type": "weight_based", "models": [{"model": "local/slow-3000"}]},
        "timeout": {"call_timeout": 40},
        "fallbacks": [{"model": "local/grayscale"}],
    }
    res = await edit(emu, body)
    assert isinstance(res, Ok), res
    assert [(a.model, a.status) for a in last(emu).attempts] == [
        ("local/slow-3000", 504),
        ("local/grayscale", 200),
    ]


@pytest.mark.parametrize(
    ("body", "error_type", "status"),
    [
        ({"model": "local/fail-500"}, InternalServerError, 500),
        ({"model": "local/fail-429"}, RateLimitError, 429),
        ({"orq": {"prompt": {"id": "nope", "version": "latest"}}}, NotFoundError, 404),
        ({"model": "local/unknown"}, BadRequestError, 400),
    ],
)
async def test_api_errors(
    emu: Emulator, red_png: Path, body: dict[str, Any], error_type: type[Exception], status: int
) -> None:
    full = {"model": "local/echo", "prompt": "p", "image": red_png, **body}
    res = await edit(emu, full, retry_config=RetryConfig("none"))
    assert isinstance(res, Err)
    assert isinstance(res.error, error_type)
    assert res.error.status_code == status  # type: ignore[attr-defined]


async def test_client_retries_resend_the_same_bytes(emu: Emulator, red_png: Path) -> None:
    emu.inject(503, times=2, retry_after="0")
    config = RetryConfig("backoff", backoff=FAST, retry_codes=(503,))
    body = {"model": "local/echo", "prompt": "p", "image": red_png}
    res = await edit(emu, body, retry_config=config, sleep=_no_sleep)
    assert isinstance(res, Ok), res
    assert res.meta.attempts == 3
    assert [t.status for t in emu.traces] == [503, 503, 200]
    assert len({t.body_sha256 for t in emu.traces}) == 1


async def test_default_config_retries_429_only(emu: Emulator, red_png: Path) -> None:
    body = {"model": "local/echo", "prompt": "p", "image": red_png}
    emu.inject(429, retry_after_ms=1)
    res = await edit(emu, body, sleep=_no_sleep)
    assert isinstance(res, Ok), res
    emu.inject(503)
    res = await edit(emu, body, sleep=_no_sleep)
    assert isinstance(res, Err)
    assert isinstance(res.error, InternalServerError)
    assert res.meta.attempts == 1


async def test_disconnect(emu: Emulator, red_png: Path) -> None:
    body = {"model": "local/echo", "prompt": "p", "image": red_png}
    emu.inject_disconnect()
    res = await edit(emu, body, retry_config=RetryConfig("none"))
    assert isinstance(res, Err)
    assert isinstance(res.error, APIConnectionError)
    emu.inject_disconnect()
    config = RetryConfig("backoff", backoff=FAST, retry_connection_errors=True)
    res = await edit(emu, body, retry_config=config, sleep=_no_sleep)
    assert isinstance(res, Ok), res
    assert emu.traces[-2].body_sha256 == emu.traces[-1].body_sha256


async def test_delay_beyond_the_client_timeout(emu: Emulator, red_png: Path) -> None:
    emu.inject_delay(1.0)
    body = {"model": "local/echo", "prompt": "p", "image": red_png}
    res = await edit(emu, body, timeout_ms=100, retry_config=RetryConfig("none"))
    assert isinstance(res, Err)
    assert isinstance(res.error, APITimeoutError)


async def test_malformed_answer(emu: Emulator, red_png: Path) -> None:
    emu.inject_malformed()
    res = await edit(emu, {"model": "local/echo", "prompt": "p", "image": red_png})
    assert isinstance(res, Err)
    assert isinstance(res.error, ResponseValidationError)
