"""The aiohttp application: the image-edit route, request ids and JSON errors.

- ``POST /v2/router/images/edits``: the gateway operation (every request is traced).
- ``GET /v2/emulator/files/{id}``: an image answered with ``response_format=url``.
- The admin endpoints (``_admin``) and the trace viewer (``_viewer``) are added by their modules.

Every response carries an ``x-request-id`` (for the operation, the trace's id). A request to the
operation goes through, in order: an injected fault (taken on arrival), the 413 body-size check,
reading and hashing the body, the injected fault's effect, the API key (401), the rate limit
(429), multipart parsing and validation (400), the prompt store (404), the cache, then the
models. A request whose client went away before the answer is traced with status None.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from orq_async.contract import MAX_IMAGE_BYTES, MAX_IMAGES, PATH

from ._admin import add_admin_routes, admin_guard
from ._cache import cache_key
from ._errors import GatewayError, error_body
from ._faults import Fault
from ._form import Part, boundary_of, parse_multipart
from ._parse import IMAGE_FIELDS, build_request
from ._request import EditRequest, resolve_options
from ._response import success_body
from ._state import STATE, EmulatorState
from ._traces import SECRET_HEADERS, PartInfo, TraceDraft
from ._viewer import add_viewer_routes

__all__ = ["BODY_LIMIT", "EDITS_PATH", "make_app"]

EDITS_PATH = PATH
BODY_LIMIT = MAX_IMAGES * MAX_IMAGE_BYTES + 1024 * 1024
#: Text parts are traced up to this many bytes (a data: URI can be megabytes).
MAX_TRACED_FIELD = 4096
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Dropped(Exception):
    """The connection was closed on purpose, without an answer."""


def _error(exc: GatewayError, draft: TraceDraft | None = None) -> web.Response:
    if draft is not None:
        draft.error = exc.message
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    headers.update(exc.headers)
    return web.Response(
        status=exc.status, body=error_body(exc), content_type="application/json", headers=headers
    )


def _faulted(request: web.Request, fault: Fault) -> web.Response:
    if fault.kind == "disconnect":
        if request.transport is not None:
            request.transport.close()
        raise _Dropped
    body = fault.body
    if body is None:
        body = error_body(
            GatewayError(
                fault.status, "injected fault", type="injected_error", code="injected_fault"
            )
        )
    content_type = fault.content_type or "application/json"
    headers = {"Content-Type": content_type, **fault.headers}
    return web.Response(status=fault.status, body=body, headers=headers)


def _api_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else None


def _authorize(key: str | None, api_keys: frozenset[str] | None) -> None:
    if api_keys is not None and key not in api_keys:
        raise GatewayError(
            401,
            "missing or invalid API key (send Authorization: Bearer <key>)",
            type="authentication_error",
            code="invalid_api_key",
        )


def _parse(body: bytes, content_type: str | None, draft: TraceDraft) -> EditRequest:
    """Parse and validate; any surprise becomes a 400, never a 500."""
    try:
        parts = parse_multipart(body, boundary_of(content_type))
        _describe(parts, draft)
        return build_request(parts)
    except GatewayError:
        raise
    except Exception as exc:
        raise GatewayError(400, f"cannot parse the request: {exc!r}", code="bad_request") from exc


def _describe(parts: list[Part], draft: TraceDraft) -> None:
    draft.parts = tuple(PartInfo(p.name, p.filename, p.content_type, len(p.data)) for p in parts)
    draft.fields = {
        p.name: p.data[:MAX_TRACED_FIELD].decode("utf-8", "replace") for p in parts if not p.is_file
    }
    draft.model_requested = draft.fields.get("model")
    draft.name, draft.user = draft.fields.get("name"), draft.fields.get("user")
    draft.image_count = sum(p.name in IMAGE_FIELDS for p in parts)


def _prompt(request: EditRequest, state: EmulatorState, draft: TraceDraft) -> str:
    """The stored prompt's text stands in for an empty ``prompt``; a given one wins."""
    ref = request.orq.prompt
    prompt = request.prompt
    if ref is not None:
        draft.prompt_id = ref.id
        if ref.id not in state.prompts:
            raise GatewayError(
                404,
                f"prompt {ref.id!r} not found",
                param="orq.prompt.id",
                type="not_found_error",
                code="prompt_not_found",
            )
        if not prompt.strip():
            prompt = state.prompts[ref.id]
    draft.prompt = prompt
    return prompt


async def _read_body(request: web.Request) -> bytes:
    too_large = GatewayError(413, f"the body exceeds {BODY_LIMIT} bytes", code="payload_too_large")
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise too_large
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None


async def _answer(
    request: web.Request, state: EmulatorState, draft: TraceDraft, fault: Fault | None
) -> web.StreamResponse:
    body = await _read_body(request)
    draft.body_sha256 = hashlib.sha256(body).hexdigest()
    if fault is not None:
        if fault.kind != "delay":
            return _faulted(request, fault)
        await asyncio.sleep(fault.seconds)
    key = _api_key(request)
    _authorize(key, state.api_keys)
    if state.rate_limit is not None and (refusal := state.rate_limit.refuse(key)) is not None:
        draft.rate_limited = True
        raise refusal
    edit = _parse(body, request.headers.get("Content-Type"), draft)
    options = resolve_options(edit)
    draft.model_requested, draft.name, draft.user = edit.model, options.name, edit.user
    draft.identity, draft.image_count = edit.identity, len(edit.images)
    state.images.put(draft.id, "input", [(i.data, i.content_type) for i in edit.images])
    prompt = _prompt(edit, state, draft)
    cache_at = cache_key(edit, options) if options.cache is not None else None
    if cache_at is not None and (hit := state.cache.get(cache_at)) is not None:
        draft.cache_hit, draft.model_used = True, hit.model_used
        state.images.put(draft.id, "output", hit.images)
        return web.json_response(hit.body)
    outcome = await state.router.route(edit, options)
    draft.attempts = outcome.attempts
    if outcome.output is None:
        status, why = (502, "no model was called")
        if outcome.failure is not None:
            status, why = outcome.failure.status, outcome.failure.message
        raise GatewayError(
            status, f"every model failed; last: {why}", type="provider_error", code="provider_error"
        )
    draft.model_used = outcome.model_used
    content_type = f"image/{outcome.output.output_format}"
    outputs = [(image, content_type) for image in outcome.output.images]
    state.images.put(draft.id, "output", outputs)
    urls = None
    if edit.response_format == "url":
        base = f"{request.scheme}://{request.host}/v2/emulator/files/"
        urls = [base + state.files.add(image, content_type) for image in outcome.output.images]
    answer = success_body(edit, prompt, outcome.output, urls)
    if cache_at is not None and options.cache is not None:
        state.cache.put(cache_at, answer, outcome.model_used, options.cache.ttl, outputs)
    return web.json_response(answer)


async def _edits(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    draft = TraceDraft(
        id=uuid.uuid4().hex,
        seq=state.traces.next_seq(),
        received_at=time.time(),
        request_headers={
            k.lower(): v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS
        },
    )
    fault = state.faults.take()
    draft.fault = fault.label if fault is not None else None
    status: int | None = None
    try:
        try:
            response = await _answer(request, state, draft, fault)
        except _Dropped:
            # The transport is closed: aiohttp fails quietly to write this response.
            return web.Response(status=204)
        except GatewayError as exc:
            response = _error(exc, draft)
        except Exception as exc:  # a bug of the emulator: still a JSON answer and a trace
            response = _error(
                GatewayError(
                    500, f"emulator error: {exc!r}", type="internal_error", code="internal_error"
                ),
                draft,
            )
        if response.status == 413:
            response.force_close()  # do not wait for a body we will not read
        response.headers["x-request-id"] = draft.id
        if request.transport is None or request.transport.is_closing():  # the client went away
            draft.error = draft.error or "the client went away before the answer"
        else:
            status = response.status
        return response
    finally:
        state.traces.add(draft.freeze(status))


async def _file(request: web.Request) -> web.Response:
    stored = request.app[STATE].files.get(request.match_info["file_id"])
    if stored is None:
        raise GatewayError(
            404, "no such file", param="id", type="not_found_error", code="file_not_found"
        )
    return web.Response(body=stored[0], content_type=stored[1])


@web.middleware
async def _request_id(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Send an ``x-request-id`` on every response (the operation sets its trace's id)."""
    response = await handler(request)
    response.headers.setdefault("x-request-id", uuid.uuid4().hex)
    return response


@web.middleware
async def _json_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Answer routing errors (404, 405) and :class:`GatewayError` as JSON, never as HTML."""
    try:
        return await handler(request)
    except GatewayError as exc:
        return _error(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(
            GatewayError(
                exc.status,
                exc.reason,
                type="invalid_request_error",
                code="not_found" if exc.status == 404 else "bad_request",
            )
        )


def make_app(state: EmulatorState) -> web.Application:
    """Build the application serving one emulator's state."""
    app = web.Application(
        client_max_size=BODY_LIMIT, middlewares=[_request_id, _json_errors, admin_guard]
    )
    app[STATE] = state
    app.router.add_post(EDITS_PATH, _edits)
    app.router.add_get("/v2/emulator/files/{file_id}", _file)
    add_admin_routes(app)
    add_viewer_routes(app)
    return app
