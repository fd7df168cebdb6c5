"""The batch's inputs: folders, image files, glob patterns and JSONL manifests, as items."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

from orq_async.cli._output import CliError
from orq_async.cli.manifest import Item, item_from_line

__all__ = ["IMAGE_SUFFIXES", "discover"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})


def _image(path: Path) -> Item:
    return Item(key=str(path.resolve()), images=(path,), stem=path.stem)


def _images(paths: Iterable[Path]) -> list[Item]:
    return [_image(p) for p in sorted(paths) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]


def _manifest(path: Path) -> list[Item]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    items: list[Item] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                items.append(item_from_line(line, number, path.parent))
            except ValueError as exc:
                raise CliError(f"{path}: {exc}") from None
    return items


def discover(sources: Sequence[str]) -> list[Item]:
    """Every item named by ``sources``, in a stable order.

    Raises:
        CliError: a source that names nothing, an unreadable or bad manifest line, or two
            items with the same key (each item must be identifiable to resume).
    """
    items: list[Item] = []
    for source in sources:
        path = Path(source)
        if path.is_file() and path.suffix.lower() == ".jsonl":
            found = _manifest(path)
        elif path.is_dir():
            found = _images(path.iterdir())
        elif path.is_file():
            found = [_image(path)]
        elif any(c in source for c in "*?["):  # a pattern the shell did not expand
            found = _images(Path(p) for p in glob.glob(source))
        else:
            raise CliError(f"no such file or folder: {source}")
        if not found:
            raise CliError(f"{source}: no input (PNG, JPEG or WebP images, or JSONL lines)")
        items += found
    seen: dict[str, int] = {}
    for number, item in enumerate(items, 1):
        if item.key in seen:
            raise CliError(f"input {number} repeats input {seen[item.key]} ({item.key})")
        seen[item.key] = number
    for item in items:
        missing = [p for p in item.images if not p.is_file()]
        if missing:
            raise CliError(f"{item.key}: cannot read {missing[0]}: no such file")
    return items
