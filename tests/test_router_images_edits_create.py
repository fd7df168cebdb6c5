"""The operation end to end against a loopback server: wire content, results and errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from orq_async import Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    SDKValidationError,
    UnprocessableEntityError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models import CreateImageEditRequestBody, CreateImageEditResponseBody, FileInput
from tests.conftest import JPEG, OK_BODY, PNG, WEBP, Server

SEED_OPTIONS: dict[str, Any] = {
    "retry": {"on_codes": [429, 500, 502, 503, 504]},
    "cache": {"ttl": 3600, "type": "exact_match"},
    "load_balancer": {
        "type": "weight_based",
        "models": [{"model": "openai/gpt-4o", "weight": 0.7}],
    },
    "timeout": {"call_timeout": 30000},
    "orq": {
        "retry": {"on_codes": [429, 500, 502, 503, 504]},
        "fallbacks": [{"model": "openai/gpt-4o-mini"}],
        "prompt": {"id": "prompt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "version": "latest"},
        "identity": {
            "id": "contact_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "display_name": "Jane Doe",
            "email": "jane.doe@example.com",
            "metadata": [{"department": "Engineering", "role": "Senior Developer"}],
            "logo_url": "https://example.com/avatars/jane-doe.jpg",
            "tags": ["hr", "engineering"],
        },
        "cache": {"ttl": 3600, "type": "exact_match"},
        "load_balancer": {
            "type": "weight_based",
            "models": [
                {"model": "openai/gpt-4o", "weight": 0.7},
                {"model": "anthropic/claude-3-5-sonnet", "weight": 0.3},
            ],
        },
        "timeout": {"call_timeout": 30000},
    },
}


async def test_seed_example_with_two_images_goes_on_the_wire_exactly(
    server: Server, tmp_path: Path
) -> None:
    mug = tmp_path / "mug.png"
    mug.write_bytes(PNG)
    body = {
        "model": "LeBaron",
        "prompt": "Put the logo on the mug",
        "image": [mug, FileInput('lo"go ünï.jpg', io.BytesIO(JPEG))],
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "response_format": "b64_json",
        "user": "user-1",
        "name": "trace-name",
        "fallbacks": [{"model": "openai/gpt-4o-mini"}],
        **SEED_OPTIONS,
    }
    async with OrqCore("sk-test", server_url=server.url) as core:
        res = await router_images_edits_create(core, body)

    assert isinstance(res, Ok)
    assert res.value.data[0].decode() == b"hello"
    (req,) = server.requests
    assert req.method == "POST"
    assert req.path == "/v2/router/images/edits"
    assert req.headers["Authorization"] == "Bearer sk-test"
    assert req.headers["Accept"] == "application/json"
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(req.headers["Content-Length"]) == len(req.body)

    texts = {p.name: p for p in req.parts if p.filename is None}
    expected_text = {
        "model": "LeBaron",
        "prompt": "Put the logo on the mug",
        "n": "2",
        "size": "1024x1024",
        "quality": "high",
        "response_format": "b64_json",
        "user": "user-1",
        "name": "trace-name",
    }
    for name, value in expected_text.items():
        assert texts[name].text == value
        assert texts[name].content_type is None
    for name in ("fallbacks", "retry", "cache", "load_balancer", "timeout", "orq"):
        assert texts[name].content_type == "application/json"
    assert texts["fallbacks"].json == [{"model": "openai/gpt-4o-mini"}]
    assert texts["retry"].json == {"on_codes": [429, 500, 502, 503, 504]}
    assert b"429.0" not in texts["retry"].data
    assert texts["cache"].json == {"type": "exact_match", "ttl": 3600}
    assert texts["load_balancer"].json == SEED_OPTIONS["load_balancer"]
    assert texts["timeout"].json == {"call_timeout": 30000}
    assert texts["orq"].json == SEED_OPTIONS["orq"]

    images = req.named("image")
    assert [(p.filename, p.content_type, p.data) for p in images] == [
        ("mug.png", "image/png", PNG),
        ('lo"go ünï.jpg', "image/jpeg", JPEG),
    ]
    # WHATWG form encoding: raw UTF-8, the quote escaped as %22 (not percent-encoding all).
    assert 'filename="lo%22go ünï.jpg"' in images[1].raw_disposition
    assert "ünï".encode() in req.body


@pytest.mark.parametrize(
    ("source", "filename", "content_type", "data"),
    [
        (PNG, "image.png", "image/png", PNG),
        (bytearray(JPEG), "image.jpg", "image/jpeg", JPEG),
        (memoryview(WEBP), "image.webp", "image/webp", WEBP),
        (("custom.bin", WEBP), "custom.bin", "image/webp", WEBP),
        (("x.png", PNG, "image/x-custom"), "x.png", "image/x-custom", PNG),
        (FileInput("f.png", PNG), "f.png", "image/png", PNG),
    ],
)
async def test_each_in_memory_input_kind(
    server: Server, source: Any, filename: str, content_type: str, data: bytes
) -> None:
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p", "image": source})
    assert res.ok
    part = server.requests[0].one("image")
    assert (part.filename, part.content_type, part.data) == (filename, content_type, data)
    assert "Authorization" not in server.requests[0].headers


async def test_file_object_streams_from_its_position_and_keeps_its_name(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "photo.webp"
    path.write_bytes(b"junk" + WEBP)
    with path.open("rb") as f:
        f.seek(4)
        async with OrqCore(server_url=server.url) as core:
            res = await router_images_edits_create(core, {"model": "m", "prompt": "p", "image": f})
        assert not f.closed  # the caller's file stays the caller's
    assert res.ok
    part = server.requests[0].one("image")
    assert (part.filename, part.data) == ("photo.webp", WEBP)


async def test_url_and_data_uri_images_travel_as_text(server: Server) -> None:
    images = ["https://example.com/a.png", "data:image/png;base64,iVBORw0KGgo=", PNG]
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p", "image": images})
    assert res.ok
    parts = server.requests[0].named("image")
    assert [(p.filename, p.data) for p in parts] == [
        (None, images[0].encode()),
        (None, images[1].encode()),
        ("image.png", PNG),
    ]


async def test_attrs_model_input_and_unset_fields_omitted(server: Server) -> None:
    body = CreateImageEditRequestBody(model="m", prompt="p", image=PNG, n=1)
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, body)
    assert res.ok
    assert [p.name for p in server.requests[0].parts] == ["model", "prompt", "n", "image"]


async def test_response_is_parsed_into_models_with_meta(server: Server) -> None:
    server.reply(web.json_response(OK_BODY, headers={"x-request-id": "req-42"}))
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    match res:
        case Ok(value):
            assert isinstance(value, CreateImageEditResponseBody)
        case Err(error):
            pytest.fail(f"unexpected {error!r}")
    assert res.value.usage is not None
    assert res.value.usage.input_tokens_details is not None
    assert res.value.usage.input_tokens_details.image_tokens == 3
    assert (res.value.output_format, res.value.size, res.value.quality) == (
        "png",
        "1024x1024",
        "high",
    )
    assert (res.meta.status_code, res.meta.request_id, res.meta.attempts) == (200, "req-42", 1)
    assert res.meta.headers["X-Request-Id"] == "req-42"


async def test_unknown_fields_and_enum_values_still_ok(server: Server) -> None:
    body = {**OK_BODY, "quality": "ultra", "new_top": {"x": 1}}
    body["data"] = [{"url": "https://cdn/x.png", "new_item_field": True}]
    server.reply(web.json_response(body))
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    assert isinstance(res, Ok)
    assert res.value.quality == "ultra"
    assert res.value.extra == {"new_top": {"x": 1}}
    assert res.value.data[0].url == "https://cdn/x.png"
    assert res.value.data[0].extra == {"new_item_field": True}
    with pytest.raises(ValueError, match="download its url"):
        res.value.data[0].decode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
async def test_each_status_maps_to_its_error(server: Server, status: int, cls: type) -> None:
    payload = {"error": {"message": f"nope {status}", "type": "x"}}
    server.reply(web.json_response(payload, status=status, headers={"request-id": "r1"}))
    no_retries = RetryConfig("none")
    async with OrqCore("k", server_url=server.url, retry_config=no_retries) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    assert isinstance(res, Err)
    error = res.error
    assert type(error) is cls
    assert isinstance(error, APIError)
    assert error.status_code == status
    assert error.json == payload
    assert error.request_id == "r1"
    assert f"nope {status}" in str(error)
    assert res.meta.status_code == status
    assert res.meta.attempts == 1


async def test_502_html_page_from_a_proxy(server: Server) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.reply(web.Response(status=502, text=html, content_type="text/html"))
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    assert isinstance(res, Err)
    assert isinstance(res.error, InternalServerError)
    assert res.error.body == html
    assert res.error.json is None
    assert "502 Bad Gateway" in str(res.error)


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b'{"created": 1, "data": [', "application/json", "schema"),
        (b"not json", "application/json", "schema"),
        (b'{"created": "yesterday", "data": []}', "application/json", "created"),
        (b'{"data": []}', "application/json", "created: required"),
        (b'{"created": 1, "data": {"x": 1}}', "application/json", "data: must be a list"),
        (b"[1, 2]", "application/json", "must be an object"),
        (json.dumps(OK_BODY).encode(), "text/html", "Content-Type"),
        (b"", "application/json", "schema"),
    ],
)
async def test_bad_2xx_bodies_are_response_validation_errors(
    server: Server, body: bytes, content_type: str, needle: str
) -> None:
    server.reply(web.Response(body=body, headers={"Content-Type": content_type}))
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    assert isinstance(res, Err)
    assert isinstance(res.error, ResponseValidationError)
    assert res.error.status_code == 200
    assert res.error.body == body
    assert needle in str(res.error)


async def test_validation_errors_name_every_path_and_send_nothing(
    server: Server, tmp_path: Path
) -> None:
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_bytes(b"hello, this is text")
    body = {
        "prompt": 3,
        "n": 11,
        "quality": "ultra",
        "response_format": "png",
        "loadBalancer": {},
        "image": [PNG, not_an_image, tmp_path / "missing.png", "mug.png", 42],
        "retry": {"count": 9},
        "cache": {"type": "lru", "ttl": 300000},
        "orq": {
            "load_balancer": {
                "type": "round_robin",
                "models": [{"model": "a"}, {"model": "b", "weight": -1}],
            },
            "identity": {"display_name": "x"},
            "prompt": {"id": "p", "version": "v2"},
        },
    }
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, body)
    assert isinstance(res, Err)
    error = res.error
    assert isinstance(error, SDKValidationError)
    paths = {p.path: p.message for p in error.problems}
    assert paths["loadBalancer"] == "unknown field (did you mean 'load_balancer'?)"
    assert paths["model"] == "required"
    assert "must be a string" in paths["prompt"]
    assert "between 1 and 10" in paths["n"]
    assert "'ultra'" in paths["quality"]
    assert "'png'" in paths["response_format"]
    assert "between 1 and 5" in paths["retry.count"]
    assert "'lru'" in paths["cache.type"]
    assert "259200" in paths["cache.ttl"]
    assert "'round_robin'" in paths["orq.load_balancer.type"]
    assert ">= 0" in paths["orq.load_balancer.models[1].weight"]
    assert paths["orq.identity.id"] == "required"
    assert "'latest'" in paths["orq.prompt.version"]
    assert "URL or a data: URI" in paths["image[3]"]
    assert "unsupported image input of type int" in paths["image[4]"]
    assert res.meta.attempts == 0
    assert server.requests == []


async def test_file_problems_are_reported_with_their_index(server: Server, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"hello, this is text")
    body = {"model": "m", "prompt": "p", "image": [PNG, text, tmp_path / "missing.png"]}
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, body)
        too_many = await router_images_edits_create(core, {**body, "image": [PNG] * 17})
        crlf = await router_images_edits_create(core, {**body, "image": ("a\r\nb.png", PNG)})
        bad_type = await router_images_edits_create(
            core, {**body, "image": ("a.png", PNG, "image/png\r\nX-Evil: 1")}
        )
    assert isinstance(res, Err)
    paths = {p.path: p.message for p in res.error.problems}
    assert set(paths) == {"image[1]", "image[2]"}
    assert "not a PNG, JPEG or WebP" in paths["image[1]"]
    assert "No such file" in paths["image[2]"]
    assert isinstance(too_many, Err)
    assert "at most 16 images, got 17" in str(too_many.error)
    assert isinstance(crlf, Err)
    assert "filename contains CR or LF" in str(crlf.error)
    assert isinstance(bad_type, Err)
    assert "content type contains CR or LF" in str(bad_type.error)
    assert server.requests == []


async def test_image_known_to_exceed_50_mib_is_refused_before_sending(
    server: Server, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.write(PNG)
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: no real 50 MiB written
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, {"model": "m", "prompt": "p", "image": big})
    assert isinstance(res, Err)
    assert res.error.problems[0].path == "image"
    assert "at most 52428800 bytes" in res.error.problems[0].message
    assert server.requests == []


async def test_integral_floats_are_sent_as_integers(server: Server) -> None:
    body = {"model": "m", "prompt": "p", "n": 2.0, "retry": {"count": 2.0, "on_codes": [429.0]}}
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(core, body)
    assert res.ok
    req = server.requests[0]
    assert req.one("n").text == "2"
    assert req.one("retry").text == '{"count":2,"on_codes":[429]}'


async def test_wrong_core_type_and_closed_core_are_programmer_errors(server: Server) -> None:
    with pytest.raises(TypeError, match="OrqCore"):
        await router_images_edits_create(object(), {"model": "m", "prompt": "p"})  # type: ignore[arg-type]
    core = OrqCore(server_url=server.url)
    await core.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await router_images_edits_create(core, {"model": "m", "prompt": "p"})


async def test_upload_progress_reports_every_byte(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(PNG * 2000)  # ~2 MiB: several chunks
    seen: list[tuple[int, int | None]] = []
    options = RequestOptions(upload_progress=lambda sent, total: seen.append((sent, total)))
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(
            core, {"model": "m", "prompt": "p", "image": path}, options
        )
    assert res.ok
    total = len(server.requests[0].body)
    assert seen[-1] == (total, total)
    assert len(seen) > 3
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
