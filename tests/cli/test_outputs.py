"""Issue 12 points 1-3: outputs checked before the paid call, never overwritten, honestly named.

Refusals are proven with the traces of a separate emulator process: nothing reached it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ._support import MUG, clean_env, edit, limit_file_size, run, run_all, traces
from .conftest import Served


def _env_key(served: Served) -> dict[str, str]:
    return clean_env(ORQ_API_KEY=served.key)


def _edit(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return run(
        "images", "edit", "--server-url", served.url, "--model", "local/echo", "--prompt", "p",
        "--image", str(MUG), *args, env=_env_key(served),
    )  # fmt: skip


def test_an_unwritable_destination_is_refused_before_sending(
    served: Served, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = [
        (blocker / "sub" / "x.png", "cannot create the folder"),
        (Path("/proc/orq-async-test/x.png"), "cannot create the folder"),
        (Path("/proc/x.png"), "cannot write in /proc"),
        (Path("/dev/full"), "is not a regular file"),
    ]
    edit = ["images", "edit", "--server-url", served.url, "--model", "local/echo", "--prompt",
            "p", "--image", str(MUG)]  # fmt: skip
    procs = run_all([[*edit, "--out", str(out)] for out, _ in cases], _env_key(served))
    for (out, words), proc in zip(cases, procs, strict=True):
        assert proc.returncode == 2, (out, proc.stderr)
        assert proc.stderr.startswith("orq-async: error: --out"), proc.stderr
        assert words in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1
    assert traces(served.url) == []


def test_missing_parents_are_created(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "new" / "sub" / "x.png"
    proc = _edit(served, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == MUG.read_bytes()


def test_when_saving_fails_after_the_answer_the_response_is_kept(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(MUG.read_bytes() + b"\0" * 8192)  # trailing bytes: still a PNG, > 4 KiB
    proc = edit(
        "--model", "local/echo", "--image", str(big), "--response-format", "url",
        "--out", str(tmp_path / "out"), preexec_fn=limit_file_size,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    kept = tmp_path / "out" / "big-edited.response.json"
    assert f"the response is kept in {kept}" in proc.stderr, proc.stderr
    answer = json.loads(kept.read_text())
    assert answer["data"][0]["url"].startswith("http://127.0.0.1:")
    assert answer["usage"]["total_tokens"] > 0
    assert not (tmp_path / "out" / "big-edited.png").exists()  # no partial file


def test_the_input_is_never_overwritten(served: Served, tmp_path: Path) -> None:
    mug = tmp_path / "mug.png"
    mug.write_bytes(MUG.read_bytes())
    for extra in ((), ("--overwrite",)):
        proc = run(
            "images", "edit", "--server-url", served.url, "--model", "local/invert",
            "--prompt", "p", "--image", str(mug), "--out", str(mug), *extra, env=_env_key(served),
        )  # fmt: skip
        assert proc.returncode == 2
        assert "is one of the input images" in proc.stderr
    assert traces(served.url) == []
    assert mug.read_bytes() == MUG.read_bytes()


def test_reruns_pick_new_names_unless_overwrite(served: Served, tmp_path: Path) -> None:
    first = _edit(served, "--out", str(tmp_path))
    second = _edit(served, "--out", str(tmp_path))
    assert first.stdout.splitlines()[0] == f"saved {tmp_path / 'mug-edited.png'}"
    assert second.stdout.splitlines()[0] == f"saved {tmp_path / 'mug-edited-2.png'}"
    (tmp_path / "mug-edited.png").write_bytes(b"old")
    third = _edit(served, "--out", str(tmp_path), "--overwrite")
    assert third.stdout.splitlines()[0] == f"saved {tmp_path / 'mug-edited.png'}"
    assert (tmp_path / "mug-edited.png").read_bytes() == MUG.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mug-edited-2.png", "mug-edited.png"]


def test_several_outputs_to_a_file_name_are_numbered_files(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "multi.png"
    proc = _edit(served, "-n", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    names = [tmp_path / f"multi-{i}.png" for i in (1, 2, 3)]
    assert proc.stdout.splitlines()[:3] == [f"saved {p}" for p in names]
    assert all(p.is_file() for p in names)
    assert not out.exists()


def test_the_extension_follows_the_real_format(served: Served, tmp_path: Path) -> None:
    proc = _edit(served, "--out", str(tmp_path / "out.jpg"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"saved {tmp_path / 'out.png'}"
    assert proc.stderr == "orq-async: note: the image is PNG, so it is saved as .png, not .jpg\n"
    assert not (tmp_path / "out.jpg").exists()
