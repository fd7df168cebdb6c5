"""The examples in ``examples/`` run: in-process against loopback servers, and standalone.

In-process, each example's ``main`` talks to a recording server (or the TLS server and proxy of
``test_sessions``) so the tests can check what went over the wire. Standalone, each file runs
as ``python examples/<name>.py`` in a subprocess, against its built-in stand-in, or against the
URL in ``ORQ_SERVER_URL``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orq_async import Err, Ok, OrqCore
from orq_async.errors import InternalServerError, SDKValidationError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from tests.conftest import OK_BODY, Recorded, Server
from tests.test_sessions import Cert, forward_proxy, make_self_signed, recording_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KEY = "sk-example-secret"

Load = Callable[[str], ModuleType]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Load:
    """Import an example by file name, with ``examples/`` on ``sys.path`` as when run."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("ORQ_DEBUG", raising=False)
    monkeypatch.setenv("ORQ_API_KEY", KEY)
    return importlib.import_module


def _not_found(request_id: str) -> web.Response:
    body = {"error": {"message": "no such model"}}
    return web.json_response(body, status=404, headers={"x-request-id": request_id})


def _traceparent(span: ReadableSpan) -> str:
    ctx = span.get_span_context()
    assert ctx is not None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


# --- hooks_logging ---------------------------------------------------------------------------


async def test_hooks_logging_tags_each_attempt_and_maps_the_error(
    load: Load, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    example = load("hooks_logging")
    caplog.set_level(logging.DEBUG, logger="myapp.orq")
    server.reply(
        web.json_response({}, status=429, headers={"Retry-After": "0"}),
        web.json_response(OK_BODY, headers={"x-request-id": "req-ok"}),
        _not_found("req-404"),
    )
    ok, missing = await example.main(server.url)
    assert isinstance(ok, Ok)
    assert ok.meta.attempts == 2  # 429 is retried by default
    assert isinstance(missing, Err)
    assert isinstance(missing.error, example.ModelUnavailableError)
    assert str(missing.error) == "createImageEdit: model unavailable (req-404)"
    assert missing.meta.status_code == 404
    # before_request ran once per attempt; after_* once per call.
    assert [r.headers["X-Attempt"] for r in server.requests] == ["1", "2", "1"]
    assert {r.headers["X-Tenant"] for r in server.requests} == {"acme"}
    assert {r.headers["Authorization"] for r in server.requests} == {f"Bearer {KEY}"}
    text = caplog.text
    assert "retrying after attempt 1 (429)" in text
    assert "attempt 2 -> 200" in text
    assert "createImageEdit ok after 2 attempt(s), 10 tokens" in text
    assert "createImageEdit -> Err(ModelUnavailableError), status 404" in text
    assert "'X-Tenant': 'acme'" in text
    assert KEY not in text


# --- mask_edit -------------------------------------------------------------------------------


async def test_mask_edit_sends_extra_files_and_fields_and_reads_extra(
    load: Load, server: Server, tmp_path: Path
) -> None:
    example = load("mask_edit")
    server.reply(web.json_response({**OK_BODY, "background": "transparent", "seed": 42}))
    value = await example.main(server.url, tmp_path)
    assert dict(value.extra) == {"background": "transparent", "seed": 42}
    assert (tmp_path / "edited.png").read_bytes() == base64.b64decode("aGVsbG8=")
    (req,) = server.requests
    image, mask = req.one("image"), req.one("mask")
    assert (image.filename, image.content_type) == ("photo.png", "image/png")
    assert (mask.filename, mask.content_type) == ("mask.png", "image/png")
    assert mask.data == (tmp_path / "mask.png").read_bytes()
    assert (req.one("background").text, req.one("background").content_type) == (
        "transparent",
        None,
    )
    compression = req.one("output_compression")
    assert (compression.json, compression.content_type) == (80, "application/json")


# --- tracing_otel ----------------------------------------------------------------------------


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_tracing_example_records_one_span_per_call(load: Load, server: Server) -> None:
    example = load("tracing_otel")
    server.reply(
        web.json_response({}, status=429, headers={"Retry-After": "0"}),
        web.json_response(OK_BODY, headers={"x-request-id": "req-ok"}),
        _not_found("req-404"),
    )
    exporter = InMemorySpanExporter()
    await example.main(server.url, exporter)
    ok, failed = exporter.get_finished_spans()
    port = int(server.url.rsplit(":", 1)[1])
    common = {
        "orq.operation_id": "createImageEdit",
        "orq.base_url": server.url,
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    assert ok.name == failed.name == "createImageEdit"
    assert ok.kind == failed.kind == trace.SpanKind.CLIENT
    assert dict(ok.attributes or {}) == {
        **common,
        "gen_ai.request.model": "openai/gpt-image-1",
        "orq.attempts": 2,
        "http.response.status_code": 200,
        "orq.request_id": "req-ok",
    }
    assert ok.status.status_code == trace.StatusCode.UNSET
    assert [(e.name, dict(e.attributes or {})) for e in ok.events] == [
        ("orq.attempt", {"orq.attempt": 1}),
        ("orq.attempt", {"orq.attempt": 2}),
    ]
    assert dict(failed.attributes or {}) == {
        **common,
        "gen_ai.request.model": "acme/no-such-model",
        "orq.attempts": 1,
        "http.response.status_code": 404,
        "orq.request_id": "req-404",
        "error.type": "NotFoundError",
    }
    assert failed.status.status_code == trace.StatusCode.ERROR
    assert (failed.status.description or "").startswith("NotFoundError: HTTP 404")
    # Every attempt carried its call's W3C traceparent.
    assert [r.headers["traceparent"] for r in server.requests] == [
        _traceparent(ok),
        _traceparent(ok),
        _traceparent(failed),
    ]


async def test_tracing_keeps_concurrent_calls_apart(load: Load, server: Server) -> None:
    example = load("tracing_otel")
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")

    async def by_model(rec: Recorded) -> web.StreamResponse:
        if rec.one("model").text == "bad":
            return web.json_response({}, status=500)
        return web.json_response(OK_BODY, headers={"x-request-id": rec.one("model").text})

    models = ["m0", "bad", "m2", "m3", "bad", "m5"]
    server.reply(*[by_model] * len(models))
    async with OrqCore(server_url=server.url, hooks=example.otel_hooks()) as core:
        results = await asyncio.gather(
            *(
                example.traced(
                    tracer, router_images_edits_create, core, {"model": m, "prompt": "p"}
                )
                for m in models
            )
        )
    assert [r.ok for r in results] == [m != "bad" for m in models]
    spans = exporter.get_finished_spans()
    assert len(spans) == len(models)
    by_parent_header = {r.headers["traceparent"]: r.one("model").text for r in server.requests}
    for span in spans:
        attrs = dict(span.attributes or {})
        model = attrs["gen_ai.request.model"]
        assert by_parent_header[_traceparent(span)] == model  # the hooks found their own span
        if model == "bad":
            assert attrs["error.type"] == InternalServerError.__name__
            assert attrs["http.response.status_code"] == 500
        else:
            assert attrs["orq.request_id"] == model
            assert "error.type" not in attrs
    assert len({s.context.trace_id for s in spans if s.context}) == len(models)


async def test_tracing_input_errors_parent_spans_and_calls_without_traced(
    load: Load, server: Server
) -> None:
    example = load("tracing_otel")
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    async with OrqCore(server_url=server.url, hooks=example.otel_hooks()) as core:
        with tracer.start_as_current_span("job") as job:
            invalid = await example.traced(
                tracer, router_images_edits_create, core, {"prompt": "p"}
            )
            untraced = await router_images_edits_create(core, {"model": "m", "prompt": "p"})
    assert isinstance(invalid, Err)
    assert isinstance(invalid.error, SDKValidationError)
    assert untraced.ok
    span, job_span = exporter.get_finished_spans()
    assert span.parent is not None
    assert span.parent.span_id == job.get_span_context().span_id
    attrs = dict(span.attributes or {})
    assert attrs["orq.attempts"] == 0
    assert attrs["error.type"] == "SDKValidationError"
    assert "http.response.status_code" not in attrs
    assert "gen_ai.request.model" not in attrs
    assert span.events == ()
    # Without traced, the hooks propagate the current span but never annotate it.
    (received,) = server.requests
    assert received.headers["traceparent"] == _traceparent(job_span)
    assert not any(k.startswith("orq.") for k in (job_span.attributes or {}))


# --- custom_session --------------------------------------------------------------------------


async def test_custom_session_over_https_through_a_proxy(load: Load, tmp_path: Path) -> None:
    example = load("custom_session")
    self_signed: Cert = make_self_signed(tmp_path)
    async with recording_server(self_signed.server_context()) as srv, forward_proxy() as proxy:
        lines = await example.main(srv.url, proxy=proxy.url, cafile=str(self_signed.cert))
    url = f"{srv.url}/v2/router/images/edits"
    assert [line.split(" in ")[0] for line in lines] == [f"POST {url} -> 200"] * 2
    assert proxy.lines
    assert all(line.startswith("CONNECT 127.0.0.1:") for line in proxy.lines)
    assert len(srv.requests) == 2
    assert {r.headers["X-Team"] for r in srv.requests} == {"imaging"}


# --- standalone runs -------------------------------------------------------------------------


async def _run(script: str, env: dict[str, str]) -> tuple[int, str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORQ_") and not k.lower().endswith("_proxy")  # a clean, direct run
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error::ResourceWarning",
        str(EXAMPLES / script),
        env={**base, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("hooks_logging.py", ["ok: 1 image(s)", "mapped by after_error: createImageEdit"]),
        ("mask_edit.py", ["background: transparent"]),
        ("tracing_otel.py", ['"name": "createImageEdit"', '"error.type": "NotFoundError"']),
        ("custom_session.py", ["ok\nok\nPOST http://127.0.0.1:"]),
    ],
)
async def test_example_runs_standalone(script: str, expected: Sequence[str]) -> None:
    code, out, err = await _run(script, {})
    assert code == 0, err
    for text in expected:
        assert text in out
    assert "Traceback" not in err
    assert "Unclosed" not in err
    assert "ResourceWarning" not in err


async def test_example_uses_orq_server_url(server: Server) -> None:
    server.reply(web.json_response(OK_BODY), _not_found("req-x"))
    code, out, err = await _run("hooks_logging.py", {"ORQ_SERVER_URL": server.url})
    assert code == 0, err
    assert "mapped by after_error: createImageEdit: model unavailable (req-x)" in out
    assert [r.one("model").text for r in server.requests] == [
        "openai/gpt-image-1",
        "acme/no-such-model",
    ]
    assert f"POST {server.url}/v2/router/images/edits attempt 1 -> 404" in err
