"""The batch's pure manifest module: journal parsing, shards, selection, input lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from orq_async.cli.manifest import (
    Item,
    Record,
    in_shard,
    item_from_line,
    parse_journal,
    parse_shard,
    select,
)


def test_a_record_round_trips_through_its_line() -> None:
    record = Record(key="k", status="done", inputs=("a.png",), outputs=("o.png",), attempts=2)
    line = record.to_line()
    assert line.endswith("}\n")
    assert line.count("\n") == 1
    assert parse_journal(line) == {"k": record}


def test_the_last_record_of_a_key_wins_and_a_torn_tail_is_ignored() -> None:
    text = (
        Record(key="a", status="started").to_line()
        + Record(key="a", status="done").to_line()
        + "\n"
        + Record(key="b", status="started").to_line()[:-5]  # torn mid-write, no newline
    )
    assert parse_journal(text) == {"a": Record(key="a", status="done")}


def test_a_bad_whole_line_is_an_error_naming_it() -> None:
    text = Record(key="a", status="done").to_line() + '{"key": "b"}\n'
    with pytest.raises(ValueError, match="line 2: "):
        parse_journal(text)
    with pytest.raises(ValueError, match="unknown status 'odd'"):
        parse_journal('{"key": "b", "status": "odd"}\n')


def test_shards_partition_the_keys_deterministically() -> None:
    keys = [f"item-{i}" for i in range(200)]
    parts = [[k for k in keys if in_shard(k, (n, 3))] for n in (1, 2, 3)]
    assert sorted(k for part in parts for k in part) == sorted(keys)  # one shard each
    assert all(40 < len(part) < 95 for part in parts)  # spread, not lumped
    assert parts[0] == [k for k in keys if in_shard(k, (1, 3))]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/2/3", "-1/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_select_new_items_or_only_the_failures() -> None:
    items = [Item(key=k, images=(Path(f"{k}.png"),)) for k in "abcdef"]
    latest = {
        "a": Record(key="a", status="done"),
        "b": Record(key="b", status="failed"),
        "c": Record(key="c", status="cancelled"),
        "d": Record(key="d", status="started"),
        "e": Record(key="e", status="kept"),
    }
    chosen, skipped = select(items, latest, retry_failed=False)
    assert [i.key for i in chosen] == ["f"]
    assert skipped == {"done": 1, "failed": 1, "cancelled": 1, "started": 1, "kept": 1}
    chosen, skipped = select(items, latest, retry_failed=True)
    assert [i.key for i in chosen] == ["b", "c", "d"]  # a kept answer was paid: not again
    assert skipped == {"done": 1, "kept": 1, "never sent": 1}


def test_an_input_line_names_its_problems(tmp_path: Path) -> None:
    item = item_from_line('{"id": "x", "image": ["a.png", "b.png"], "n": 2}', 1, tmp_path)
    assert item == Item(
        key="x", images=(tmp_path / "a.png", tmp_path / "b.png"), fields={"n": 2}, stem="x"
    )
    same = item_from_line('{"prompt": "p", "image": "a.png"}', 1, tmp_path)
    again = item_from_line('{"image": "a.png",  "prompt": "p"}', 7, tmp_path)
    assert same.key == again.key  # the key follows the content, not the line
    assert same.key != item_from_line('{"image": "a.png", "prompt": "q"}', 1, tmp_path).key
    for line, words in (
        ("{", "line 3: not JSON"),
        ("[1]", "line 3: expected a JSON object"),
        ('{"prompt": "p"}', "line 3: image: expected a path"),
        ('{"image": 5}', "line 3: image: expected a path"),
        ('{"image": "a.png", "id": [1]}', "line 3: id: expected"),
        ('{"image": "a.png", "id": "../x"}', "line 3: id: '../x' cannot name a file"),
        ('{"image": ["a.png", 2]}', "line 3: image: expected a path"),
    ):
        with pytest.raises(ValueError, match=words):
            item_from_line(line, 3, tmp_path)
