"""Issue 12 point 6: exit codes 0/1/2/130, ``--json`` for errors too, warnings as one line."""

from __future__ import annotations

import json
from pathlib import Path

from ._support import MUG, edit, run, traces
from .conftest import Served


def test_an_api_error_exits_1_with_one_line(tmp_path: Path) -> None:
    proc = edit("--model", "local/fail-500", "--image", str(MUG), "--out", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.startswith("orq-async: error: HTTP 500")
    assert proc.stderr.count("\n") == 1
    assert proc.stdout == ""


def test_json_mode_prints_an_error_object_on_stdout(tmp_path: Path) -> None:
    proc = edit("--model", "local/fail-404", "--image", str(MUG), "--json", "--out", str(tmp_path))
    assert proc.returncode == 1
    error = json.loads(proc.stdout)
    assert error["ok"] is False
    assert error["error"]["type"] == "NotFoundError"
    assert error["error"]["status_code"] == 404
    assert "404" in error["error"]["message"]
    assert set(error["error"]) == {"type", "message", "status_code", "request_id"}


def test_json_mode_input_errors_too(tmp_path: Path) -> None:
    proc = edit("--model", "local/echo", "--image", str(MUG), "-n", "11", "--json")
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "SDKValidationError"
    assert "n: must be between 1 and 10" in error["message"]
    assert error["status_code"] is None


def test_a_bad_server_url_is_a_usage_error(tmp_path: Path) -> None:
    for url in ("ftp://example.com", "http://"):
        proc = run(
            "images", "edit", "--server-url", url, "--model", "m", "--prompt", "p",
            "--image", str(MUG), "--out", str(tmp_path),
        )  # fmt: skip
        assert proc.returncode == 2, (url, proc.stderr)
        assert proc.stderr.startswith("orq-async: error: --server-url"), proc.stderr
        assert proc.stderr.count("\n") == 1


def test_the_insecure_transport_warning_is_one_clean_line(served: Served, tmp_path: Path) -> None:
    # "vm" resolves to 127.0.0.1 (/etc/hosts) but is not a loopback name: the key would travel
    # over plain HTTP to "another host", so the SDK warns; the call still reaches the emulator.
    port = served.url.rsplit(":", 1)[1]
    key = tmp_path / "key"
    key.write_text(served.key + "\n")
    proc = run(
        "images", "edit", "--server-url", f"http://vm:{port}", "--api-key-file", str(key),
        "--model", "local/echo", "--prompt", "p", "--image", str(MUG), "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "orq-async: warning: sending the API key over plain HTTP to vm\n"
    assert len(traces(served.url)) == 1
