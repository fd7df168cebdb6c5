"""``images edit`` does its main job: the edit through the SDK, every output saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

from ._support import MUG, edit


def test_edit_through_the_emulator_saves_the_inverted_image(tmp_path: Path) -> None:
    proc = edit("--model", "local/invert", "--image", str(MUG), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "mug-edited.png"
    saved, summary = proc.stdout.splitlines()
    assert saved == f"saved {out}"
    assert re.fullmatch(r"model local/invert, 1 image\(s\), \d+ tokens", summary)
    assert proc.stderr == ""  # not a terminal: no progress
    with Image.open(MUG) as a, Image.open(out) as b:
        before, after = a.convert("RGB").getpixel((5, 5)), b.convert("RGB").getpixel((5, 5))
    assert after == tuple(255 - c for c in before)


def test_json_output_several_outputs_and_url_downloads(tmp_path: Path) -> None:
    proc = edit(
        "--model", "local/grayscale", "--image", str(MUG), "--image", str(MUG),
        "-n", "3", "--response-format", "url", "--json", "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True
    assert summary["model"] == "local/grayscale"
    assert summary["output_format"] == "png"
    assert summary["saved"] == [str(tmp_path / f"mug-edited-{i}.png") for i in (1, 2, 3)]
    for saved in summary["saved"]:
        with Image.open(saved) as img:
            r, g, b = img.convert("RGB").getpixel((100, 150))
            assert r == g == b
    assert summary["usage"]["total_tokens"] > 0


def test_gateway_options_are_passed_through(tmp_path: Path) -> None:
    out = tmp_path / "result.png"
    proc = edit(
        "--model", "local/fail-503", "--fallback", "local/echo", "--gateway-retries", "2",
        "--cache-ttl", "60", "--call-timeout-ms", "5000", "--identity-id", "contact_1",
        "--name", "cli", "--user", "u1", "--size", "64x64", "--quality", "low",
        "--image", str(MUG), "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == MUG.read_bytes()


def test_missing_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    proc = edit("--model", "local/echo", "--image", str(missing), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert f"cannot read {missing}" in proc.stderr
    assert "Traceback" not in proc.stderr
