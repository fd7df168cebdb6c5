"""``orq-async emulator serve``: the bundled local gateway emulator in the foreground."""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING, Any

from orq_async.cli._flags import count, non_negative, port, positive
from orq_async.cli._output import EXIT_OK, Output, guarded
from orq_async.cli._run import run

if TYPE_CHECKING:
    from orq_async.testing import Emulator

__all__ = ["add_emulator_parser"]

DESCRIPTION = """\
Run the local emulator of the orq.ai gateway until Ctrl-C. It serves
POST /v2/router/images/edits with local models (local/echo, local/invert, local/slow-<ms>,
local/fail-<status>, ...) and records a trace of every request (GET /v2/emulator/traces,
and a trace viewer at its URL). It prints its URL, the viewer's URL and an export line for
the shell."""

EXAMPLES = """\
examples:
  on a free port, any key accepted:
    orq-async emulator serve --port 0
  only the key "test-key" accepted, seeded load balancing:
    orq-async emulator serve --port 8080 --api-key test-key --seed 1
  a gateway that allows 50 requests/s per key (429 + Retry-After beyond):
    orq-async emulator serve --rate-limit 50 --burst 10"""


def add_emulator_parser(commands: Any) -> None:
    """Register ``emulator serve`` on the top-level subparsers."""
    emulator: argparse.ArgumentParser = commands.add_parser(
        "emulator",
        help="the local gateway emulator",
        description="The local emulator of the orq.ai gateway.",
        allow_abbrev=False,
    )
    emulator.set_defaults(command_parser=emulator)
    subcommands = emulator.add_subparsers(title="commands", metavar="COMMAND")
    serve: argparse.ArgumentParser = subcommands.add_parser(
        "serve",
        help="run the emulator until Ctrl-C",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the interface to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=port, default=8080, help="the port; 0 picks a free one (default 8080)"
    )
    serve.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help="a key the emulator accepts; repeat for more (default: any key or none)",
    )
    serve.add_argument("--seed", type=int, help="the seed of the load balancer's random choices")
    serve.add_argument(
        "--rate-limit",
        type=positive,
        metavar="RPS",
        help="requests per second allowed per key; beyond, 429 with Retry-After (default: none)",
    )
    serve.add_argument(
        "--burst",
        type=count,
        metavar="N",
        help="with --rate-limit: requests a key may send at once (default: the rate, rounded up)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="the token the trace and fault endpoints require (default: none on loopback, "
        "a random one, printed, on any other host)",
    )
    serve.add_argument(
        "--keep-images",
        type=non_negative,
        default=20,
        metavar="N",
        help="recent requests whose images the trace viewer shows (default 20)",
    )
    serve.set_defaults(run=_main, command_parser=serve)


def _main(args: argparse.Namespace) -> int:
    if args.burst is not None and args.rate_limit is None:
        args.command_parser.error("--burst needs --rate-limit")
    output = Output(json_mode=False, quiet=True)
    return run(guarded(_serve(args), output))


async def _serve(args: argparse.Namespace) -> int:
    from orq_async.testing import serve_forever

    keys: list[str] = args.api_key or []

    def started(emulator: Emulator) -> None:
        print(f"emulator listening on {emulator.url}", flush=True)
        exports = [f"ORQ_SERVER_URL={shlex.quote(emulator.url)}"]
        if keys:
            exports.append(f"ORQ_API_KEY={shlex.quote(keys[0])}")
        print("export " + " ".join(exports), flush=True)
        print(f"trace viewer: {emulator.viewer_url}", flush=True)

    await serve_forever(
        args.host,
        args.port,
        on_started=started,
        api_keys=keys or None,
        seed=args.seed,
        rate_limit=args.rate_limit,
        burst=args.burst,
        admin_token=args.admin_token,
        keep_images=args.keep_images,
    )
    return EXIT_OK
