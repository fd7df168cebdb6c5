"""The typed facade at runtime, the ``is_ok``/``is_err`` guards, and both type checkers on
``tests/typing`` (positive files clean, every negative case reported)."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from orq_async import Err, Ok, Orq, OrqCore, RetryConfig
from orq_async.errors import NotFoundError, SDKValidationError
from orq_async.models import CreateImageEditResponseBody
from orq_async.result import is_err, is_ok
from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _params(fn: object) -> list[tuple[str, object, object, object]]:
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default, p.annotation) for p in sig.parameters.values()]


def test_orq_takes_exactly_the_parameters_of_orqcore() -> None:
    core_params = _params(OrqCore.__init__)
    assert core_params[0][0] == "self"
    assert _params(Orq) == core_params[1:]
    assert "api_key" in [p[0] for p in core_params]


def test_orq_forwards_every_orqcore_parameter() -> None:
    params = inspect.signature(OrqCore.__init__).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    orq = Orq(**{**defaults, "server_url": "http://127.0.0.1:9", "user_agent": "ua/1"})
    assert orq.core.server_url == "http://127.0.0.1:9"
    assert orq.core.user_agent == "ua/1"
    with pytest.raises(TypeError, match="api_kye"):
        Orq(api_kye="k")  # type: ignore[call-arg]


async def test_with_result_gives_meta_on_success_and_errors_as_values(server: Server) -> None:
    async with Orq(server_url=server.url, retry_config=RetryConfig("none")) as orq:
        res = await orq.router.images.edits.with_result.create(model="m", prompt="p")
        assert is_ok(res)
        assert isinstance(res.value, CreateImageEditResponseBody)
        assert (res.meta.status_code, res.meta.attempts) == (200, 1)
        server.reply(web.json_response({"error": {"message": "no", "code": "nf"}}, status=404))
        failed = await orq.router.images.edits.with_result.create({"model": "m", "prompt": "p"})
        assert is_err(failed)
        assert isinstance(failed.error, NotFoundError)
        assert (failed.error.code, failed.meta.status_code) == ("nf", 404)
        invalid = await orq.router.images.edits.with_result.create(model="m", prompt="p", n=0)
        assert isinstance(invalid, Err)
        assert isinstance(invalid.error, SDKValidationError)


async def test_from_core_wraps_an_existing_core(server: Server) -> None:
    async with OrqCore(server_url=server.url) as core:
        orq = Orq.from_core(core)
        assert orq.core is core
        assert (await orq.router.images.edits.create(model="m", prompt="p")).created == 1732450000


def test_guards_tell_ok_from_err() -> None:
    ok: Ok[int] | Err[ValueError] = Ok(1)
    err: Ok[int] | Err[ValueError] = Err(ValueError("x"))
    assert (is_ok(ok), is_err(ok), is_ok(err), is_err(err)) == (True, False, False, True)


@pytest.mark.skipif(
    not (BIN / "mypy").exists() or shutil.which("basedpyright", path=str(BIN)) is None,
    reason="mypy and basedpyright are needed next to the interpreter",
)
def test_type_checkers_on_tests_typing() -> None:
    positive = sorted(str(p) for p in (ROOT / "tests" / "typing").glob("check_*.py"))
    commands: list[list[str | Path]] = [
        # Errors of the package itself are the package-wide runs' job (scripts/typecheck.sh).
        [BIN / "mypy", "--strict", "--follow-imports=silent", *positive],
        [BIN / "basedpyright", "--pythonpath", sys.executable, *positive],
        [sys.executable, ROOT / "tests" / "typing" / "expect.py"],
    ]
    for command in commands:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
