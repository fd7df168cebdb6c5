"""Print the installed versions of orq-async's runtime dependencies next to their declared floors.

``--exact`` fails unless every installed version *is* its floor: the lowest-dependency CI run
uses it to prove it really tested the minimums the metadata declares.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9a-zA-Z.]*)\s*(?:;|$)")


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part, trailing zeros dropped (``3.11`` == ``3.11.0``)."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+", maxsplit=1)[0])]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def floors(dist: str = "orq-async") -> dict[str, str]:
    """Runtime requirement name -> declared minimum, from the installed metadata."""
    found: dict[str, str] = {}
    for req in metadata.requires(dist) or []:
        if "extra ==" in req:
            continue
        match = _FLOOR.match(req)
        if match is None:
            raise SystemExit(f"runtime requirement without a '>=' floor: {req!r}")
        found[match.group(1)] = match.group(2)
    return found


def main(argv: list[str]) -> int:
    exact = "--exact" in argv
    wrong: list[str] = []
    for name, floor in floors().items():
        installed = metadata.version(name)
        mark = ""
        if exact and _release(installed) != _release(floor):
            wrong.append(name)
            mark = "  <- not the floor"
        print(f"  {name:<10} floor {floor:<8} installed {installed}{mark}")
    if wrong:
        print(f"not installed at their floors: {', '.join(wrong)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
