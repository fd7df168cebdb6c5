"""``Orq(...)`` takes exactly OrqCore's parameters: a typo is a static error."""

from __future__ import annotations

from orq_async import Orq

# expect: mypy=call-arg pyright=reportCallIssue
orq = Orq(api_kye="k")
