"""The public surface is pinned, and importing one operation stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import orq_async

PUBLIC = {
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BackoffStrategy",
    "BadRequestError",
    "Err",
    "FileInput",
    "InputStreamError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "Ok",
    "Orq",
    "OrqCore",
    "OrqError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "ResponseMeta",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "Result",
    "RetryConfig",
    "SDKValidationError",
    "Throttle",
    "UNSET",
    "UnexpectedClientError",
    "UnprocessableEntityError",
    "__version__",
    "edit_many",
}


def test_public_names_are_pinned_and_resolve() -> None:
    assert set(orq_async.__all__) == PUBLIC
    assert set(dir(orq_async)) == PUBLIC
    for name in PUBLIC:
        assert getattr(orq_async, name) is not None


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out))


def test_importing_the_operation_loads_nothing_it_does_not_need() -> None:
    loaded = _modules_after(
        "from orq_async.funcs.router_images_edits_create import router_images_edits_create"
    )
    ours = {m for m in loaded if m.startswith("orq_async")}
    assert "orq_async.sdk" not in ours
    assert "orq_async.batch" not in ours
    assert not any(m.startswith(("orq_async.testing", "orq_async.cli")) for m in ours)
    baseline = _modules_after("import aiohttp, attrs, cattrs, tenacity, multidict, yarl")
    third_party = {m.split(".")[0] for m in loaded - baseline if not m.startswith("orq_async")}
    stdlib = set(sys.stdlib_module_names)
    assert third_party <= stdlib, third_party - stdlib


def test_root_import_is_lazy() -> None:
    loaded = _modules_after("import orq_async")
    assert {m for m in loaded if m.startswith("orq_async")} == {"orq_async"}
    assert "aiohttp" not in loaded
