"""The `convhub` command: one entry point, one module per subcommand group.

This module also holds what every subcommand shares: its errors, its flags and argument types,
JSON output and a progress line. The subcommand modules import them from here; this module
imports them only when building the parser, so there is no import cycle.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, NoReturn, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

DESCRIPTION = "convhub: send conversions, inspect and operate a convhub stack."
N = TypeVar("N", int, float)
EPILOG = """\
Run without a command to see this help (exit status 0).
Services are found through --target, CONVHUB_<SERVICE>_ADDR, or the local stack: CONVHUB_STACK
(a stack.json or its folder), else .run/stack.json in this folder or a parent (`make run`).
Credentials: --token or CONVHUB_TOKEN, else a token minted from CONVHUB_JWT_SECRET[_FILE] or the
local stack's secret.
Exit status: 0 done; 1 an operation failed (a service unreachable or refusing, a conversion
rejected or parked); 2 a usage or configuration error. Errors are one line on stderr;
--debug (or CONVHUB_DEBUG=1) adds the Python traceback.
"""


# --- errors ------------------------------------------------------------------------------------


class CliError(Exception):
    """A mistake in how convhub was called or configured: one line on stderr, exit status 2.

    `more` are indented lines after it (the field errors of a refused request).
    """

    exit_code = 2

    def __init__(self, message: str, more: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.more = list(more)


class Failed(CliError):
    """An operation that did not succeed (a service unreachable or refusing): exit status 1."""

    exit_code = 1


# --- parser ------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and "(required)" on required options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)  # subcommand parsers get it too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see `{self.prog} --help`\n")


class _Formatter(argparse.HelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required and action.option_strings:
            text += " (required)"
        return text


def show_help(parser: argparse.ArgumentParser) -> Any:
    """A command function for a group run without its action: print the group's help."""

    def run(_: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    return run


def iso_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone, UTC."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2025-03-01T14:30:00+01:00)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def positive_int(text: str) -> int:
    return _number(int, text, lambda n: n > 0, "a whole number above 0")


def non_negative_int(text: str) -> int:
    return _number(int, text, lambda n: n >= 0, "a whole number, 0 or more")


def positive_float(text: str) -> float:
    return _number(float, text, lambda n: n > 0, "a number above 0")


def non_negative_float(text: str) -> float:
    return _number(float, text, lambda n: n >= 0, "a number, 0 or more")


def _number(kind: Callable[[str], N], text: str, ok: Callable[[N], bool], wanted: str) -> N:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
    return value


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print JSON (proto field names) instead of text"
    )


def add_token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token",
        metavar="JWT",
        help="bearer token to call with (default: $CONVHUB_TOKEN, else one minted from the"
        " JWT secret; see `convhub token`)",
    )


# --- output ------------------------------------------------------------------------------------


def to_data(message: Message) -> Any:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_json(value: Message | Any) -> None:
    """Print a proto message (with its proto field names) or plain data as indented JSON."""
    data = to_data(value) if isinstance(value, Message) else value
    print(json.dumps(data, indent=2, ensure_ascii=False))


class Progress:
    """A status line on stderr, rewritten in place; shown only when stderr is a terminal."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._shown = False
        self.started = time.monotonic()

    def show(self, text: str) -> None:
        if self._tty:
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()
            self._shown = True

    def clear(self) -> None:
        """Before printing anything else: the next line then starts on a clean line."""
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._shown = False

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f} s"

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()


# --- entry point -------------------------------------------------------------------------------


class _KeepEpilog(_Formatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the top-level epilog's line breaks."""


def version() -> str:
    try:
        return metadata.version("convhub-cli")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from convhub_cli import (
        attribution_cmds,
        dispatch,
        health,
        ingest_cmds,
        sites,
        sources_cmds,
        token,
        up,
    )

    parser = Parser(
        prog="convhub", description=DESCRIPTION, epilog=EPILOG, formatter_class=_KeepEpilog
    )
    parser.add_argument("--version", action="version", version=f"convhub {version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    parser.set_defaults(func=show_help(parser))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each module contributes `register(subparsers)`; its parsers set `func(args) -> int`.
    for module in (token, health, up, ingest_cmds, sites, sources_cmds, dispatch, attribution_cmds):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("CONVHUB_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        lines, code = explain(exc, debug)
        print(f"convhub: {lines[0]}", file=sys.stderr)
        for line in lines[1:]:
            print(f"  {line}", file=sys.stderr)
        return code


def explain(exc: Exception, debug: bool = False) -> tuple[list[str], int]:
    """What to tell the operator about `exc`, and the exit status."""
    import grpc

    from convhub_cli import grpc_client
    from convhub_cli.stackfile import StackFileError
    from hubkit.errors import ConfigError

    if isinstance(exc, CliError):
        return [str(exc), *exc.more], exc.exit_code
    if isinstance(exc, ConfigError | StackFileError):
        return [str(exc)], 2
    if isinstance(exc, grpc.aio.AioRpcError):
        failure = grpc_client.rpc_failure(exc)
        return [str(failure), *failure.more], 1
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return [f"{where}{exc.strerror}"], 1
    hint = "traceback above" if debug else "`convhub --debug ...` shows the traceback"
    return [f"unexpected error: {type(exc).__name__}: {exc} ({hint})"], 1


if __name__ == "__main__":
    # As `python -m convhub_cli.main` this file runs as `__main__`, a second copy of the module:
    # go through the importable one, whose CliError is the class the subcommands raise.
    from convhub_cli.main import main as entry

    sys.exit(entry())
