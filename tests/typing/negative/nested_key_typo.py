"""A typo inside a nested option object of a dict body is a static error."""

from __future__ import annotations

from orq_async.models import CreateImageEditRequestDict

body: CreateImageEditRequestDict = {
    "model": "m",
    "prompt": "p",
    # expect: mypy=typeddict-item pyright=reportAssignmentType
    "cache": {"type": "exact_match", "ttl_s": 60},
}
