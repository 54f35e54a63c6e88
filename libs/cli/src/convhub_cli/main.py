"""The `convhub` command: one entry point, one module per subcommand group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc

from convhub_cli import attribution_cmds, dispatch, health, ingest_cmds, sites, token, up

# Each module contributes `register(subparsers)`; its parsers set `func(args) -> int`.
COMMANDS = (token, health, up, ingest_cmds, sites, dispatch, attribution_cmds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"convhub: {exc}", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as exc:
        print(f"convhub: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1


class CliError(Exception):
    """A user-facing failure: printed without a traceback."""


if __name__ == "__main__":
    sys.exit(main())
