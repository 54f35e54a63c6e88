"""`convhub` as an operator runs it: the installed command, in a folder of a checkout whose
`.run/stack.json` names services the test started (as `make run` leaves it)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from convhub_cli.stackfile import StackInfo

CONVHUB = str(Path(sys.executable).parent / "convhub")
SECRET = "cli-stack-test-secret-that-is-long-enough-for-hs256"


async def convhub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Exit status, stdout and stderr; no CONVHUB_* setting but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONVHUB_")}
    proc = await asyncio.create_subprocess_exec(
        CONVHUB,
        *args,
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def write_stack(checkout: Path, services: dict[str, str]) -> Path:
    path = checkout / ".run" / "stack.json"
    StackInfo(database_url="", nats_url="", jwt_secret=SECRET, services=services).save(path)
    return path


def one_line(err: str) -> str:
    """The error, after checking it is a single line with no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]
