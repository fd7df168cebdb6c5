"""``APIError.json`` is not ``Any``: it must be narrowed before it is indexed."""

from __future__ import annotations

from orq_async.errors import APIError


def read(err: APIError) -> object:
    # expect: mypy=index pyright=reportOptionalSubscript
    return err.json["error"]
