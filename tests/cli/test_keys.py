"""Issue 12 point 7: the key from a file or stdin, never a flag; no key, nothing uploaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ._support import MUG, clean_env, run, traces
from .conftest import Served


def _edit_at(
    url: str, out: Path, *extra: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run(
        "images", "edit", "--server-url", url, "--model", "local/echo", "--prompt", "p",
        "--image", str(MUG), "--out", str(out), *extra, input=input, env=env,
    )  # fmt: skip


def test_no_key_for_a_remote_server_is_refused_before_uploading(
    served: Served, tmp_path: Path
) -> None:
    port = served.url.rsplit(":", 1)[1]
    proc = _edit_at(f"http://vm:{port}", tmp_path)  # a non-loopback name, served locally
    assert proc.returncode == 2
    assert "set ORQ_API_KEY or pass --api-key-file" in proc.stderr
    assert traces(served.url) == []  # nothing reached the server


def test_the_key_from_stdin_a_file_or_the_environment(served: Served, tmp_path: Path) -> None:
    ok = _edit_at(served.url, tmp_path, "--api-key-file", "-", input=served.key + "\n")
    assert ok.returncode == 0, ok.stderr
    key = tmp_path / "key.txt"
    key.write_text(served.key)
    assert _edit_at(served.url, tmp_path, "--api-key-file", str(key)).returncode == 0
    env = clean_env(ORQ_API_KEY=served.key)
    assert _edit_at(served.url, tmp_path, env=env).returncode == 0
    wrong = _edit_at(served.url, tmp_path, "--api-key-file", "-", input="wrong\n")
    assert wrong.returncode == 1
    assert "HTTP 401" in wrong.stderr
    assert [t["status"] for t in traces(served.url)] == [200, 200, 200, 401]


def test_there_is_no_key_flag_and_a_bad_key_file_is_named(tmp_path: Path) -> None:
    proc = run("images", "edit", "--api-key", "secret", "--model", "m", "--prompt", "p",
               "--image", str(MUG))  # fmt: skip
    assert proc.returncode == 2
    assert "unrecognized arguments: --api-key" in proc.stderr
    missing = tmp_path / "nokey"
    proc = _edit_at("http://127.0.0.1:9", tmp_path, "--api-key-file", str(missing))
    assert proc.returncode == 2
    assert f"--api-key-file: cannot read {missing}" in proc.stderr
