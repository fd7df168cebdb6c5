"""OpenTelemetry: one span per SDK call, built from the hooks; OpenTelemetry is not a dependency.

Use it in two steps::

    core = OrqCore(hooks=otel_hooks())  # or extend an existing Hooks with the three functions
    res = await traced(tracer, router_images_edits_create, core, body, options)

Each call gets one ``CLIENT`` span named after the operation id (``createImageEdit``) with:
``orq.operation_id``, ``orq.base_url``, ``server.address``, ``server.port``,
``gen_ai.request.model`` (from the body), ``orq.attempts``, ``http.response.status_code`` and
``orq.request_id`` (when a response came), ``error.type`` (the error's class) and an ``ERROR``
status on ``Err``; one ``orq.attempt`` event per HTTP attempt. Every attempt carries a W3C
``traceparent`` header, so the gateway's own spans join the caller's trace.

Which hook does what. ``before_request`` runs once per *attempt* (client retries included):
it injects ``traceparent`` and adds an attempt event. ``after_success`` / ``after_error`` run
once per *call*, on the final result (also for input errors, where nothing was sent and
``attempts`` is 0): they record the outcome. Hooks run in registration order, so the span shows
the error as it stands when the tracing hook runs: register it after a hook that replaces
errors to trace the replacement, before it to trace the original.

How the hooks find the call's span. ``traced`` opens the span, makes it the current span and
puts it in a ``ContextVar`` for the duration of the call; the hooks run in the caller's task,
so they read the same ``ContextVar`` and see exactly their call's span, even with many calls in
flight (each asyncio task has its own context). Keying on ``HookContext.options`` instead
would mix calls up: calls made without options all share one default ``RequestOptions``, and
one options object may be reused by concurrent calls. Without ``traced`` the hooks still inject
the current span's ``traceparent`` but annotate no span: they never touch a span they did not
open.

Run (prints the spans as JSON)::

    python examples/tracing_otel.py                          # against a local stand-in
    ORQ_SERVER_URL=https://my.orq.ai ORQ_API_KEY=... python examples/tracing_otel.py
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any, TypeVar

from _local_gateway import gateway_url, png
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from yarl import URL

from orq_async import OrqCore, RequestOptions
from orq_async.errors import OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.hooks import HookContext, Hooks
from orq_async.result import ResponseMeta, Result

B = TypeVar("B")
T = TypeVar("T")

_CALL_SPAN: ContextVar[trace.Span | None] = ContextVar("orq_call_span", default=None)


def _on_attempt(ctx: HookContext, headers: MutableMapping[str, str]) -> None:
    propagate.inject(headers)  # traceparent (and baggage) of the current span
    span = _CALL_SPAN.get()
    if span is not None:
        span.add_event("orq.attempt", {"orq.attempt": ctx.attempt})


def _record(ctx: HookContext, meta: ResponseMeta, error: OrqError | None) -> None:
    span = _CALL_SPAN.get()
    if span is None:
        return
    base = URL(ctx.base_url)
    span.update_name(ctx.operation_id)
    span.set_attributes(
        {
            "orq.operation_id": ctx.operation_id,
            "orq.base_url": ctx.base_url,
            "server.address": base.host or "",
            "server.port": base.port or 0,
            "orq.attempts": meta.attempts,
        }
    )
    if meta.status_code is not None:
        span.set_attribute("http.response.status_code", meta.status_code)
    if meta.request_id:
        span.set_attribute("orq.request_id", meta.request_id)
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"))


def _on_success(ctx: HookContext, value: object, meta: ResponseMeta) -> None:
    _record(ctx, meta, None)


def _on_error(ctx: HookContext, error: OrqError, meta: ResponseMeta) -> None:
    _record(ctx, meta, error)


def otel_hooks() -> Hooks:
    """The three tracing hooks, for ``OrqCore(hooks=...)`` or to merge into your own."""
    return Hooks(before_request=[_on_attempt], after_success=[_on_success], after_error=[_on_error])


async def traced(
    tracer: trace.Tracer,
    operation: Callable[[OrqCore, B, RequestOptions | None], Awaitable[Result[T, OrqError]]],
    core: OrqCore,
    body: B,
    options: RequestOptions | None = None,
) -> Result[T, OrqError]:
    """Await ``operation(core, body, options)`` inside a span the hooks fill in."""
    with tracer.start_as_current_span(operation.__name__, kind=trace.SpanKind.CLIENT) as span:
        model = body.get("model") if isinstance(body, Mapping) else getattr(body, "model", None)
        if isinstance(model, str):
            span.set_attribute("gen_ai.request.model", model)
        token = _CALL_SPAN.set(span)
        try:
            return await operation(core, body, options)
        finally:
            _CALL_SPAN.reset(token)


async def main(server_url: str, exporter: SpanExporter) -> None:
    """Make two traced calls (one fails); ``exporter`` receives their spans."""
    provider = TracerProvider()  # in an application: trace.set_tracer_provider(provider) once
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("myapp")
    image = png(4, 4, (0, 0, 0, 255))
    async with OrqCore(server_url=server_url, hooks=otel_hooks()) as core:
        for model in ("openai/gpt-image-1", "acme/no-such-model"):
            body: dict[str, Any] = {"model": model, "prompt": "Make it blue", "image": image}
            res = await traced(tracer, router_images_edits_create, core, body)
            print(f"{model}: {'ok' if res.ok else 'failed'}")
    provider.shutdown()


async def _standalone() -> None:
    async with gateway_url() as url:
        await main(url, ConsoleSpanExporter())


if __name__ == "__main__":
    asyncio.run(_standalone())
