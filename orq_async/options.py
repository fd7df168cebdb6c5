"""Per-call request options; every field left ``UNSET`` falls back to the core's setting."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, Union

import attrs

from orq_async.models.files import ImageValue
from orq_async.retries import RetryConfig

__all__ = ["UNSET", "RequestOptions", "Unset"]


class Unset(enum.Enum):
    """The type of :data:`UNSET`, telling "not given" from ``None``."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
UnsetType = Literal[Unset.UNSET]


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Options for one call.

    Args:
        retries: client retries for this call (not the gateway's ``retry`` field).
        retry_codes: statuses to retry (``429``, ``"5XX"``), replacing the config's.
        timeout_ms: per-attempt timeout in milliseconds; ``None`` means no timeout.
        read_timeout_ms: longest silence after the body is sent; ``None`` means none.
        server_url: another base URL for this call.
        headers: extra headers for this call (they may not override ``Authorization``).
        extra_fields: form fields the SDK does not model yet: a ``str`` is sent as a text part,
            anything else as a JSON part. Names of modelled fields are refused.
        extra_files: file fields the SDK does not model yet (e.g. an OpenAI-style ``mask``):
            name → one file input or a list, accepting what ``image`` accepts (any file type).
        upload_progress: called as ``(bytes_sent, total_or_None)`` while the body is sent
            (again from 0 on each attempt).
    """

    retries: Union[RetryConfig, UnsetType] = UNSET  # noqa: UP007
    retry_codes: Union[Sequence[int | str], UnsetType] = UNSET  # noqa: UP007
    timeout_ms: Union[int, UnsetType, None] = UNSET  # noqa: UP007
    read_timeout_ms: Union[int, UnsetType, None] = UNSET  # noqa: UP007
    server_url: Union[str, UnsetType] = UNSET  # noqa: UP007
    headers: Union[Mapping[str, str], UnsetType] = UNSET  # noqa: UP007
    extra_fields: Mapping[str, Any] | None = None
    extra_files: Mapping[str, ImageValue] | None = None
    upload_progress: Callable[[int, int | None], None] | None = None
