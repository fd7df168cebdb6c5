"""Flags shared by ``images edit`` and ``images edit-batch``: request fields, server, output.

Kept light (no aiohttp): building the parser must not import the SDK, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, cast

from orq_async.models.limits import CACHE_TTL_MAX, N_MAX, N_MIN, RETRY_COUNT_MAX, RETRY_COUNT_MIN

if TYPE_CHECKING:
    from orq_async.models.dicts import CreateImageEditRequestDict

__all__ = [
    "add_connection_flags",
    "add_request_flags",
    "as_body",
    "count",
    "non_negative",
    "port",
    "positive",
    "request_fields",
]


def add_request_flags(parser: argparse.ArgumentParser, *, batch: bool = False) -> None:
    """Flags mapping to the request's fields (in a batch, defaults for every item)."""
    group = parser.add_argument_group(
        "request fields"
        + (" (defaults for every item; a manifest line overrides)" if batch else "")
    )
    group.add_argument(
        "--model", required=not batch, help="the model, e.g. openai/gpt-image-1 (field: model)"
    )
    group.add_argument(
        "--prompt", required=not batch, help="what to do with the images (field: prompt)"
    )
    group.add_argument(
        "-n",
        type=int,
        metavar="N",
        help=f"how many images to make, {N_MIN}..{N_MAX} (field: n; the gateway's default is 1)",
    )
    group.add_argument("--size", help="output size, e.g. 1024x1024 (field: size)")
    group.add_argument("--quality", help="low, medium, high or auto (field: quality)")
    group.add_argument(
        "--response-format",
        choices=["url", "b64_json"],
        help="how the gateway returns images (field: response_format); URLs are downloaded",
    )
    group.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="MODEL",
        help="a model to try if the first fails; repeat for more (field: fallbacks)",
    )
    group.add_argument(
        "--cache-ttl",
        type=int,
        metavar="SECONDS",
        help=f"cache identical requests for 1..{CACHE_TTL_MAX} s (field: cache, exact_match)",
    )
    group.add_argument(
        "--gateway-retries",
        type=int,
        metavar="N",
        help=f"the gateway retries the provider {RETRY_COUNT_MIN}..{RETRY_COUNT_MAX} times "
        "(field: retry.count; not the client's retries)",
    )
    group.add_argument(
        "--call-timeout-ms",
        type=int,
        metavar="MS",
        help="the gateway's limit for one provider call (field: timeout.call_timeout)",
    )
    group.add_argument(
        "--identity-id", metavar="ID", help="who the call is for (field: orq.identity.id)"
    )
    group.add_argument("--name", help="a name for the call in the gateway's logs (field: name)")
    group.add_argument("--user", help="your end user's id (field: user)")


def count(text: str, minimum: int = 1) -> int:
    """An argparse type: an integer >= ``minimum`` (1 unless told)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
    return value


def non_negative(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return count(text, 0)


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    value = non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be <= 65535, got {text}")
    return value


def positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def as_body(fields: dict[str, Any]) -> CreateImageEditRequestDict:
    """Fields built from the command line, for the operation, which validates them all."""
    return cast("CreateImageEditRequestDict", fields)


def request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields given by the flags (without ``image``); absent flags are left out."""
    body: dict[str, Any] = {}
    for key in ("model", "prompt", "n", "size", "quality", "response_format", "name", "user"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.fallback:
        body["fallbacks"] = [{"model": m} for m in args.fallback]
    if args.cache_ttl is not None:
        body["cache"] = {"type": "exact_match", "ttl": args.cache_ttl}
    if args.gateway_retries is not None:
        body["retry"] = {"count": args.gateway_retries}
    if args.call_timeout_ms is not None:
        body["timeout"] = {"call_timeout": args.call_timeout_ms}
    if args.identity_id is not None:
        body["orq"] = {"identity": {"id": args.identity_id}}
    return body


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """The flags choosing the server and the key, and the output modes."""
    group = parser.add_argument_group("server and key")
    group.add_argument(
        "--server-url",
        metavar="URL",
        help="the gateway's base URL (default: $ORQ_SERVER_URL, else https://my.orq.ai)",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help="start the bundled local emulator in this process and call it (no key needed)",
    )
    group.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from this file, or from stdin with '-' (default: $ORQ_API_KEY)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout, errors included"
    )
    out.add_argument(
        "-q", "--quiet", action="store_true", help="no progress, spinner or retry lines"
    )
