"""``orq-async images edit``: one edit, every output image saved, nothing paid for lost."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from orq_async.cli._flags import (
    add_connection_flags,
    add_request_flags,
    as_body,
    count,
    positive,
    request_fields,
)
from orq_async.cli._output import EXIT_OK, Output, guarded
from orq_async.cli._run import run

__all__ = ["add_edit_parser"]

DESCRIPTION = """\
Edit one or more images with a model behind the orq.ai gateway (POST /v2/router/images/edits)
and save every output image. The output folder is checked before anything is sent, existing
files are never overwritten without --overwrite, and if saving fails after the gateway
answered, the response JSON is kept and its path printed.

The API key comes from $ORQ_API_KEY or --api-key-file; the server from --server-url,
$ORQ_SERVER_URL or https://my.orq.ai. Exit codes: 0 done, 1 API or network error,
2 usage or input error, 130 interrupted."""

EXAMPLES = """\
examples:
  offline, through the bundled emulator (writes out/mug-edited.png):
    orq-async images edit --emulator --model local/invert --prompt "Invert" \\
        --image examples/mug.png --out out/
  two input images, three outputs numbered logo-mug-1.png ... logo-mug-3.png:
    orq-async images edit --model openai/gpt-image-1 --prompt "Put the logo on the mug" \\
        --image mug.png --image logo.png -n 3 --out logo-mug.png
  the key from a secret store, JSON for a script:
    pass show orq | orq-async images edit --api-key-file - --json \\
        --model openai/gpt-image-1 --prompt "Make it blue" --image mug.png"""


def add_edit_parser(images: Any) -> None:
    """Register ``images edit`` on the ``images`` subparsers."""
    parser: argparse.ArgumentParser = images.add_parser(
        "edit",
        help="edit images and save the results",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--image",
        action="append",
        required=True,
        type=Path,
        metavar="PATH",
        help="an input image (PNG, JPEG or WebP, < 50 MiB); repeat for up to 16 (field: image)",
    )
    add_request_flags(parser)
    out = parser.add_argument_group("where results go")
    out.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="PATH",
        help="a folder (existing, ending in '/' or without extension: files are named "
        "<input>-edited.<ext>) or a file name (several outputs are numbered name-1.<ext>, ...); "
        "the extension follows the real image format (default: the current folder)",
    )
    out.add_argument(
        "--overwrite", action="store_true", help="replace existing files (never an input image)"
    )
    out.add_argument(
        "--max-download-mb",
        type=count,
        default=64,
        metavar="MB",
        help="with --response-format url: the largest image to download (default 64)",
    )
    out.add_argument(
        "--download-timeout",
        type=positive,
        default=60.0,
        metavar="SECONDS",
        help="with --response-format url: the longest time for one download (default 60)",
    )
    add_connection_flags(parser)
    parser.set_defaults(run=_main, command_parser=parser)


def _main(args: argparse.Namespace) -> int:
    output = Output(json_mode=args.json, quiet=args.quiet)
    return run(guarded(_edit(args, output), output))


async def _edit(args: argparse.Namespace, output: Output) -> int:
    # The SDK and aiohttp are imported here, not at the top: the parser (--help) stays quick.
    from orq_async.cli._connection import open_core
    from orq_async.cli._download import DownloadLimits
    from orq_async.cli._paths import plan_destination
    from orq_async.cli._save import save_images
    from orq_async.cli._terminal import StatusLine
    from orq_async.funcs.router_images_edits_create import router_images_edits_create
    from orq_async.options import RequestOptions
    from orq_async.result import Err

    status = StatusLine(sys.stderr, enabled=output.interactive)
    dest = plan_destination(args.out, args.image, overwrite=args.overwrite)
    limits = DownloadLimits(args.max_download_mb * 1024 * 1024, args.download_timeout)
    image = args.image if len(args.image) > 1 else args.image[0]
    body = as_body({**request_fields(args), "image": image})
    options = RequestOptions(upload_progress=status.upload if status.enabled else None)
    async with open_core(args, status) as core:
        async with status.spinning("waiting for the model"):
            res = await router_images_edits_create(core, body, options)
        if isinstance(res, Err):
            return output.fail(res.error)
        value = res.value
        paths = await save_images(value, dest, limits, output)
    tokens = value.usage.total_tokens if value.usage is not None else None
    for path in paths:
        output.line(f"saved {path}")
    output.line(f"model {args.model}, {len(paths)} image(s), {tokens or 0} tokens")
    output.result(
        {
            "model": args.model,
            "saved": [str(p) for p in paths],
            "created": value.created,
            "output_format": value.output_format,
            "size": value.size,
            "usage": None if tokens is None else {"total_tokens": tokens},
            "request_id": res.meta.request_id,
        }
    )
    return EXIT_OK
