"""A Result must be narrowed before ``.value`` is read."""

from __future__ import annotations

from orq_async import Err, Ok


def read(res: Ok[int] | Err[Exception]) -> int:
    # expect: mypy=union-attr pyright=reportAttributeAccessIssue
    return res.value
