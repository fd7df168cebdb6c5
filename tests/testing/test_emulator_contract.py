"""The emulator takes the contract's names from ``orq_async.contract``, nothing else of the SDK."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import attrs

import orq_async.testing
from orq_async import contract
from orq_async.testing._options import CHECKERS, GatewayOptions


def test_every_gateway_option_has_one_checker_and_a_contract_name() -> None:
    assert list(CHECKERS) == [field.name for field in attrs.fields(GatewayOptions)]
    # The options are exactly what ``orq`` holds besides prompt and identity ...
    assert set(CHECKERS) == set(contract.ORQ_FIELDS) - {"prompt", "identity", "contact"}
    # ... and each is a top-level field too, in a wire form the parser knows.
    forms = {*contract.TEXT_FIELDS, *contract.JSON_FIELDS, *contract.LIST_FIELDS}
    assert set(CHECKERS) <= forms
    assert {*contract.JSON_FIELDS, *contract.LIST_FIELDS} - {"orq"} <= set(CHECKERS)


EMULATOR = Path(orq_async.testing.__file__).parent
ALLOWED = {"orq_async.contract", "orq_async.models.limits"}


def test_the_emulator_imports_only_the_contract_from_the_sdk() -> None:
    imported = set()
    for module in EMULATOR.glob("*.py"):
        if module.name == "pytest_plugin.py":
            continue  # the plugin gives fixtures of the SDK's own OrqCore, lazily
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert {name for name in imported if name.startswith("orq_async")} == ALLOWED


def test_importing_the_emulator_loads_no_request_path() -> None:
    code = (
        "import sys, orq_async.testing, orq_async.testing._app\n"
        "print(sorted(m for m in sys.modules if m.startswith('orq_async')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for internal in ("orq_async.core", "orq_async._http", "orq_async.funcs", "orq_async.retries"):
        assert f"'{internal}" not in out
