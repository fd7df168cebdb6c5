"""The published package: metadata, what the wheel and the sdist carry, dev-only groups, editables.

The wheel and the sdist are built once from this checkout (``python -m build --no-isolation``,
setuptools and build come with the ``test`` group) and read as a user's installer would.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tomllib is 3.11+; on 3.10 pytest brings its backport, tomli.
_toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
PYPROJECT: dict[str, Any] = _toml.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = {"aiohttp", "attrs", "cattrs", "tenacity"}
# The first versions the package works with (see the comment on `dependencies`): older ones fail.
PROVEN_FLOORS = {"aiohttp": (3, 11), "attrs": (23, 1), "cattrs": (24, 1), "tenacity": (8, 4, 1)}
USER_EXTRAS = {"emulator", "pytest"}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


_BUILD_IGNORES = shutil.ignore_patterns("__pycache__", "*.pyc")


def _package_files() -> set[str]:
    """Every file of orq_async/ in the checkout that belongs in a distribution."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "orq_async").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Built from a copy of what the build reads, so no build/ or egg-info lands in the tree."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "orq_async", src / "orq_async", ignore=_BUILD_IGNORES)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def wheel_metadata(dists: dict[str, Path]) -> Message:
    with zipfile.ZipFile(dists["wheel"]) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(whl.read(name).decode())


def test_metadata_declares_license_classifiers_urls_and_keywords(wheel_metadata: Message) -> None:
    assert wheel_metadata["License-Expression"] == "MIT"
    assert wheel_metadata.get_all("License-File") == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    classifiers = set(wheel_metadata.get_all("Classifier") or [])
    assert {"Framework :: AsyncIO", "Typing :: Typed"} <= classifiers
    urls = wheel_metadata.get_all("Project-URL") or []
    assert urls
    assert all(re.fullmatch(r"[\w ]+, https://\S+", u) for u in urls), urls
    assert "asyncio" in (wheel_metadata["Keywords"] or "").split(",")


def test_python_classifiers_match_requires_python_and_the_ci_matrix(
    wheel_metadata: Message,
) -> None:
    classifiers = wheel_metadata.get_all("Classifier") or []
    declared = sorted(
        (m.group(1) for c in classifiers if (m := re.fullmatch(r".*Python :: (3\.\d+)", c))),
        key=_release,
    )
    matrix = re.search(r"^VERSIONS=\((.*)\)$", (ROOT / "scripts/matrix.sh").read_text(), re.M)
    assert matrix is not None
    assert declared == matrix.group(1).split()
    assert wheel_metadata["Requires-Python"] == f">={declared[0]}"


def test_runtime_requirements_are_the_four_with_their_proven_floors(
    wheel_metadata: Message,
) -> None:
    runtime: dict[str, tuple[int, ...]] = {}
    for req in wheel_metadata.get_all("Requires-Dist") or []:
        if "extra ==" in req:
            continue
        match = re.fullmatch(r"([\w.-]+)>=([\d.]+)", req)
        assert match, f"runtime requirement without a plain floor: {req}"
        runtime[match.group(1)] = _release(match.group(2))
    assert set(runtime) == RUNTIME
    assert runtime == PROVEN_FLOORS


def test_published_extras_are_for_users_and_dev_tools_are_dependency_groups(
    wheel_metadata: Message,
) -> None:
    assert set(wheel_metadata.get_all("Provides-Extra") or []) == USER_EXTRAS
    groups: dict[str, Any] = PYPROJECT["dependency-groups"]
    assert {"test", "lint", "dev", "bench", "clients", "ci"} <= set(groups)
    # every group the scripts install exists
    scripts = [ROOT / ".ci/run", *(ROOT / "scripts").glob("*.sh")]
    used = {g for s in scripts for g in re.findall(r"--group (\w+)", s.read_text())}
    assert used
    assert used <= set(groups)


def test_wheel_carries_the_whole_package_and_nothing_else(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
    package = {n for n in names if not n.startswith("orq_async-")}
    assert package == _package_files()
    assert "orq_async/py.typed" in package


def test_sdist_leaves_the_tests_out_entirely_and_carries_the_package(
    dists: dict[str, Path],
) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert not {n for n in names if n == "tests" or n.startswith("tests/")}
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    assert _package_files() <= names


def test_an_editable_install_is_a_plain_path_static_tools_resolve() -> None:
    # the installed dist-info (a checkout's orq_async.egg-info may be found first on sys.path)
    installed = [
        (dist, json.loads(text))
        for dist in metadata.distributions(name="orq-async")
        if (text := dist.read_text("direct_url.json")) is not None
    ]
    if not installed or not installed[0][1].get("dir_info", {}).get("editable"):
        pytest.skip("orq-async is not installed editable here")
    dist = installed[0][0]
    site = Path(str(dist.locate_file("")))
    pth_lines = {
        line.strip()
        for pth in site.glob("*orq_async*.pth")
        for line in pth.read_text(encoding="utf-8").splitlines()
    }
    # `package-dir = {"" = "."}` in pyproject.toml makes setuptools write the checkout's path
    # here; without it, setuptools installs an import hook that pyright cannot follow.
    assert str(ROOT) in pth_lines, f"no plain path to {ROOT} in the .pth files: {pth_lines}"
    assert not any(line.startswith("import ") for line in pth_lines)
