"""Cold start: the wall time a fresh process spends reaching the operation.

Each variant runs in ``reps`` fresh interpreters (after one unmeasured pass that writes the
bytecode caches), the variants interleaved in an order rotated on every repetition. Inside the
process the time from before the first import to the operation in hand is taken with
``time.perf_counter`` (the interpreter's own start-up, the same for all, is left out); the whole
process's wall time is recorded too.
"""

from __future__ import annotations

import compileall
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.common import ROOT, median
from benchmarks.throughput import rotate

_URL = "http://127.0.0.1:9"
FLOOR = "deps"
FUNC = "orq_async"
_IMPORT_FUNC = "from orq_async.funcs.router_images_edits_create import router_images_edits_create"

#: name -> (label, the statements that reach the operation, module needed to run it)
VARIANTS: dict[str, tuple[str, str, str]] = {
    FLOOR: (
        "import aiohttp, attrs, cattrs, tenacity (floor)",
        "import aiohttp, attrs, cattrs, tenacity",
        "aiohttp",
    ),
    FUNC: ("orq_async: import the standalone function", _IMPORT_FUNC, "orq_async"),
    "orq_async_core": (
        "orq_async: import the function + build an OrqCore",
        f"{_IMPORT_FUNC}\nfrom orq_async import OrqCore\nOrqCore('k', server_url={_URL!r})",
        "orq_async",
    ),
    "orq_async_facade": (
        "orq_async facade: Orq(...).router.images.edits.create (+ its lazy import)",
        f"from orq_async import Orq\nOrq('k', server_url={_URL!r}).router.images.edits.create\n"
        f"{_IMPORT_FUNC}",
        "orq_async",
    ),
    "aiohttp": ("import aiohttp", "import aiohttp", "aiohttp"),
    "httpx": ("httpx: import + AsyncClient()", "import httpx\nhttpx.AsyncClient()", "httpx"),
    "orq_ai_sdk": (
        "orq-ai-sdk: Orq(...).router.images.edits.create_async",
        f"from orq_ai_sdk import Orq\nOrq(api_key='k', server_url={_URL!r})"
        ".router.images.edits.create_async",
        "orq_ai_sdk",
    ),
    "openai": (
        "openai: AsyncOpenAI(...).images.edit",
        f"from openai import AsyncOpenAI\nAsyncOpenAI(api_key='k', base_url={_URL!r}).images.edit",
        "openai",
    ),
}

_PROBE = """\
import os, sys, time
if {cpu} is not None and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {{{cpu}}})
{setup}
_t0 = time.perf_counter()
{code}
_t1 = time.perf_counter()
print(_t1 - _t0, len(sys.modules))
"""

_MODULE_DIFF = """\
import json, sys
import aiohttp, attrs, cattrs, tenacity
before = set(sys.modules)
{code}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def add_sdk_copy(name: str, directory: str) -> str:
    """Register ``orq_async@name``: the standalone function imported from ``directory`` (A/B)."""
    key = f"{FUNC}@{name}"
    label, code, module = VARIANTS[FUNC]
    setup = f"import sys\nsys.path.insert(0, {directory!r})\n"
    VARIANTS[key] = (f"{label} [{name}]", code, module)
    _SETUP[key] = setup
    return key


_SETUP: dict[str, str] = {}


def available(variant: str) -> bool:
    """Whether the variant's library is installed."""
    module = VARIANTS[variant][2]
    probe = _run(
        f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    )
    return probe.returncode == 0


def run_all(
    *, variants: Sequence[str], reps: int, cpu: int | None, log: Any = print
) -> dict[str, Any]:
    """Measure each variant ``reps`` times; return per-variant samples and the module diff."""
    # Byte-compile the package as `pip install` does for a wheel: the environment may set
    # PYTHONDONTWRITEBYTECODE, which would make every probe of an editable install recompile
    # orq_async from source while the dependencies load from their installed bytecode.
    compileall.compile_dir(str(ROOT / "orq_async"), quiet=1)
    names = [v for v in variants if available(v)]
    missing = [v for v in variants if v not in names]
    samples: dict[str, list[float]] = {n: [] for n in names}
    walls: dict[str, list[float]] = {n: [] for n in names}
    modules: dict[str, int] = {}
    errors: dict[str, str] = {}
    for rep in range(reps + 1):  # rep 0 only warms the bytecode and page caches
        for name in rotate(names, rep):
            if name in errors:
                continue
            code = _PROBE.format(cpu=cpu, setup=_SETUP.get(name, ""), code=VARIANTS[name][1])
            started = time.perf_counter()
            proc = _run(code)
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                errors[name] = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
                continue
            seconds, count = proc.stdout.split()
            modules[name] = int(count)
            if rep:
                samples[name].append(float(seconds))
                walls[name].append(wall)
    for name in names:
        if samples[name]:
            log(f"  {name:<17} median {median(samples[name]) * 1000:7.1f} ms")
    diff = _run(_MODULE_DIFF.format(code=_IMPORT_FUNC))
    pulled: list[str] = json.loads(diff.stdout) if diff.returncode == 0 else []
    return {
        "samples": samples,
        "walls": walls,
        "modules": modules,
        "errors": errors,
        "missing": missing,
        "pulled": pulled,
    }
