"""The ``orq-async`` command: image edits from the shell, and the local emulator.

    orq-async images edit --image mug.png --prompt "..." --model openai/gpt-image-1 --emulator
    orq-async emulator serve --port 8080

Exit codes: 0 success, 1 an API or transport error, 2 a usage or input error (such as a
missing file). Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from orq_async.core import DEFAULT_SERVER_URL, OrqCore
from orq_async.errors import OrqError, SDKValidationError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models.limits import sniff_image_type
from orq_async.models.response import CreateImageEditResponseBody
from orq_async.options import RequestOptions
from orq_async.result import Err

__all__ = ["main"]

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orq-async", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="group", required=True)
    images = commands.add_parser("images", help="image operations").add_subparsers(
        dest="command", required=True
    )
    edit = images.add_parser("edit", help="edit images (POST /v2/router/images/edits)")
    edit.add_argument("--image", action="append", required=True, metavar="PATH", type=Path)
    edit.add_argument("--prompt", required=True)
    edit.add_argument("--model", required=True)
    edit.add_argument("-n", type=int)
    edit.add_argument("--size")
    edit.add_argument("--quality")
    edit.add_argument("--response-format", choices=["url", "b64_json"])
    edit.add_argument("--fallback", action="append", metavar="MODEL", default=[])
    edit.add_argument("--cache-ttl", type=int, metavar="SECONDS")
    edit.add_argument("--gateway-retries", type=int, metavar="N")
    edit.add_argument("--call-timeout-ms", type=int, metavar="MS")
    edit.add_argument("--identity-id", metavar="ID")
    edit.add_argument("--name")
    edit.add_argument("--user")
    edit.add_argument("--out", type=Path, metavar="PATH_OR_DIR", default=Path())
    edit.add_argument("--server-url", default=os.environ.get("ORQ_SERVER_URL", DEFAULT_SERVER_URL))
    edit.add_argument("--emulator", action="store_true", help="run against a local emulator")
    edit.add_argument("--json", action="store_true", help="print the result as JSON")
    emulator = commands.add_parser("emulator", help="the local gateway emulator")
    serve = emulator.add_subparsers(dest="command", required=True).add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    return parser


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"model": args.model, "prompt": args.prompt}
    body["image"] = args.image if len(args.image) > 1 else args.image[0]
    for key in ("n", "size", "quality", "response_format", "name", "user"):
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


def _targets(out: Path, stem: str, count: int, ext: str) -> list[Path]:
    """Where the outputs go: a file path for one output, else numbered files in a folder."""
    if count == 1 and out.suffix and not out.is_dir():
        return [out]
    folder = out
    folder.mkdir(parents=True, exist_ok=True)
    if count == 1:
        return [folder / f"{stem}-edited.{ext}"]
    return [folder / f"{stem}-edited-{i}.{ext}" for i in range(1, count + 1)]


async def _save(
    value: CreateImageEditResponseBody, args: argparse.Namespace, progress: bool
) -> list[Path]:
    blobs: list[bytes] = []
    async with aiohttp.ClientSession() as session:  # no key: URLs may be on another host
        for i, item in enumerate(value.data, 1):
            if progress and len(value.data) > 1:
                print(f"\rsaving {i}/{len(value.data)}", end="", file=sys.stderr, flush=True)
            if item.b64_json is not None:
                blobs.append(item.decode())
            elif item.url is not None:
                async with session.get(item.url, raise_for_status=True) as resp:
                    blobs.append(await resp.read())
    if progress and len(value.data) > 1:
        print(file=sys.stderr)
    ext = value.output_format or _EXT.get(sniff_image_type(blobs[0][:12]) or "", "png")
    paths = _targets(args.out, args.image[0].stem, len(blobs), ext)
    for path, blob in zip(paths, blobs, strict=True):
        path.write_bytes(blob)
    return paths


@contextlib.asynccontextmanager
async def _server(args: argparse.Namespace) -> AsyncIterator[str]:
    if not args.emulator:
        yield args.server_url
        return
    from orq_async.testing import Emulator

    async with Emulator() as emu:
        yield emu.url


def _progress_printer(total_files: int) -> Any:
    def show(sent: int, total: int | None) -> None:
        if total:
            print(f"\ruploading {total_files} file(s): {sent * 100 // total}%", end="",
                  file=sys.stderr, flush=True)  # fmt: skip
            if sent == total:
                print(file=sys.stderr)

    return show


async def _edit(args: argparse.Namespace) -> int:
    tty = sys.stderr.isatty()
    size = sum(p.stat().st_size for p in args.image if p.is_file())
    options = RequestOptions(
        upload_progress=_progress_printer(len(args.image)) if tty and size >= _PROGRESS_MIN_BYTES
        else None
    )  # fmt: skip
    async with _server(args) as url, OrqCore(server_url=url) as core:
        res = await router_images_edits_create(core, _body(args), options)
        if isinstance(res, Err):
            raise res.error
        value = res.value
        try:
            paths = await _save(value, args, tty)
        except (aiohttp.ClientError, ValueError) as exc:
            raise OrqError(f"cannot fetch an output image: {exc}") from None
    usage = value.usage
    tokens = usage.total_tokens if usage is not None else None
    if args.json:
        summary = {
            "model": args.model,
            "saved": [str(p) for p in paths],
            "created": value.created,
            "output_format": value.output_format,
            "size": value.size,
            "usage": None if usage is None else {"total_tokens": tokens},
            "request_id": res.meta.request_id,
        }
        print(json.dumps(summary))
    else:
        for path in paths:
            print(f"saved {path}")
        print(f"model {args.model}, {len(paths)} image(s), {tokens or 0} tokens")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from orq_async.testing import serve_forever

    def ready(url: str) -> None:
        print(f"emulator listening on {url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port, on_ready=ready))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.group == "emulator":
            return _serve(args)
        return asyncio.run(_edit(args))
    except SDKValidationError as exc:
        print(f"orq-async: error: {exc}", file=sys.stderr)
        return 2
    except (OrqError, OSError) as exc:
        print(f"orq-async: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, OSError) else 1
