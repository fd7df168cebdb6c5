"""Per-call request options; every field left ``UNSET`` falls back to the core's setting.

Options are checked when they are built: a wrong type or an impossible number raises
``TypeError`` / ``ValueError`` naming the field, so a malformed option never fails a call half
way. What can only be judged against the core (header values, the server URL) comes back as
``Err(InvalidRequestError)`` before anything is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, Union, cast

import attrs

from orq_async._guards import check_count, check_milliseconds, refuse_credentials
from orq_async.models.files import ImageValue
from orq_async.retries import RetryConfig, retry_codes_matcher

__all__ = ["UNSET", "RequestOptions", "Unset"]


class Unset(enum.Enum):
    """The type of :data:`UNSET`, telling "not given" from ``None``."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
UnsetType = Literal[Unset.UNSET]


def _unless_unset(check: Callable[[str, Any], None]) -> Any:
    def validate(_inst: object, attr: attrs.Attribute[Any], value: Any) -> None:
        if value is not UNSET:
            check(attr.name, value)

    return validate


def _retries(name: str, value: Any) -> None:
    if not isinstance(value, RetryConfig):
        raise TypeError(f"{name} must be a RetryConfig, got {value!r}")


def _retry_codes(name: str, value: Any) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of statuses such as [429, '5XX'], got {value!r}")
    try:
        retry_codes_matcher(cast("Sequence[int | str]", value))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _server_url(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    refuse_credentials(name, value)


def _mapping(name: str, value: Any, *, str_keys: bool = True) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    if str_keys:
        for key in cast("Mapping[object, object]", value):
            if not isinstance(key, str):
                raise TypeError(f"{name} keys must be str, got {key!r}")


def _optional_mapping(_inst: object, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _mapping(attr.name, value)


def _callable(_inst: object, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{attr.name} must be callable, got {type(value).__name__}")


def _max_bytes(name: str, value: Any) -> None:
    check_count(name, value, optional=True)


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Options for one call.

    Args:
        retries: client retries for this call (not the gateway's ``retry`` field).
        retry_codes: statuses to retry (``429``, ``"5XX"``), replacing the config's.
        timeout_ms: per-attempt timeout in milliseconds (> 0); ``None`` means no timeout.
        read_timeout_ms: longest silence after the body is sent (> 0); ``None`` means none.
        max_response_bytes: the most response bytes read (after decompression), ``None`` for
            no cap; over it the call ends with ``Err(ResponseTooLargeError)``.
        server_url: another base URL for this call.
        headers: extra headers for this call (they may not override ``Authorization``).
        extra_fields: form fields the SDK does not model yet: a ``str`` is sent as a text part,
            anything else as a JSON part. Names of modelled fields are refused.
        extra_files: file fields the SDK does not model yet (e.g. an OpenAI-style ``mask``):
            name → one file input or a list, accepting what ``image`` accepts (any file type).
        upload_progress: called as ``(bytes_sent, total_or_None)`` while the body is sent
            (again from 0 on each attempt). If it raises, the call ends with
            ``Err(InputStreamError)``.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range, named in the message.
    """

    retries: Union[RetryConfig, UnsetType] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(_retries)
    )
    retry_codes: Union[Sequence[int | str], UnsetType] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(_retry_codes)
    )
    timeout_ms: Union[float, UnsetType, None] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(check_milliseconds)
    )
    read_timeout_ms: Union[float, UnsetType, None] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(check_milliseconds)
    )
    max_response_bytes: Union[int, UnsetType, None] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(_max_bytes)
    )
    server_url: Union[str, UnsetType] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(_server_url)
    )
    headers: Union[Mapping[str, str], UnsetType] = attrs.field(  # noqa: UP007
        default=UNSET, validator=_unless_unset(lambda n, v: _mapping(n, v, str_keys=False))
    )
    extra_fields: Mapping[str, Any] | None = attrs.field(default=None, validator=_optional_mapping)
    extra_files: Mapping[str, ImageValue] | None = attrs.field(
        default=None, validator=_optional_mapping
    )
    upload_progress: Callable[[int, int | None], None] | None = attrs.field(
        default=None, validator=_callable
    )
