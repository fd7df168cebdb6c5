"""``orq-async emulator serve``: flags, the URL and export lines, a call through it."""

from __future__ import annotations

from pathlib import Path

from ._support import MUG, clean_env, run, traces
from .conftest import Served, serve_emulator


def test_serve_prints_its_url_and_an_export_line(served: Served) -> None:
    assert served.export == f"export ORQ_SERVER_URL={served.url} ORQ_API_KEY={served.key}\n"


def test_a_call_through_the_served_emulator_needs_its_key(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "served.png"
    args = ("images", "edit", "--server-url", served.url, "--model", "local/echo",
            "--prompt", "p", "--image", str(MUG), "--out", str(out))  # fmt: skip
    assert run(*args).returncode == 1  # loopback: sent without a key, and refused (401)
    edited = run(*args, env=clean_env(ORQ_API_KEY=served.key))
    assert edited.returncode == 0, edited.stderr
    assert out.read_bytes() == MUG.read_bytes()
    assert [t["status"] for t in traces(served.url)] == [401, 200]


def test_serve_flags_reach_the_emulator(tmp_path: Path) -> None:
    with serve_emulator("--rate-limit", "0.001", "--burst", "1") as served:
        assert served.viewer.startswith(f"trace viewer: {served.url}/")
        args = ("images", "edit", "--server-url", served.url, "--model", "local/echo",
                "--prompt", "p", "--image", str(MUG), "--out", str(tmp_path))  # fmt: skip
        env = clean_env(ORQ_API_KEY=served.key)
        assert run(*args, env=env).returncode == 0
        limited = run(*args, env=env)  # the bucket is empty for 1000 s: the client does not wait
        assert limited.returncode == 1
        assert limited.stderr.startswith("orq-async: error: HTTP 429")
        assert [t["status"] for t in traces(served.url)] == [200, 429]


def test_burst_needs_a_rate_limit() -> None:
    proc = run("emulator", "serve", "--burst", "3")
    assert proc.returncode == 2
    assert proc.stderr.endswith("error: --burst needs --rate-limit\n")
