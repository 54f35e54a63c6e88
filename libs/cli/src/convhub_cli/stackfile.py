"""Where a running local stack is: `convhub up` writes it, the other subcommands read it.

A command uses the stack named by CONVHUB_STACK (a stack.json, or the folder holding it), else
by CONVHUB_STACK_FILE (its older name), else the `.run/stack.json` of the working folder or of
the nearest parent that has one: any folder of the checkout finds the stack `make run` started.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

STACK_ENV = "CONVHUB_STACK"
LEGACY_STACK_ENV = "CONVHUB_STACK_FILE"
RELATIVE_PATH = Path(".run/stack.json")
# Where `convhub up` writes it (relative to its working folder).
DEFAULT_PATH = Path(os.environ.get(LEGACY_STACK_ENV, str(RELATIVE_PATH)))


class StackFileError(ValueError):
    """A stack.json that exists but cannot be read as one."""


@dataclass
class StackInfo:
    database_url: str
    nats_url: str
    jwt_secret: str
    services: dict[str, str] = field(default_factory=dict)  # name -> host:port
    simulators: dict[str, str] = field(default_factory=dict)  # name -> base URL
    # ingest's webhook receiver: http://host:port/webhooks (+ /<source>/<site_id>); "" if none.
    webhooks: str = ""

    def save(self, path: Path = DEFAULT_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.chmod(0o600)  # it holds the development JWT secret
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | None = None) -> StackInfo | None:
        """The stack described at `path` (default: `find()`'s), or None when there is none."""
        path = path if path is not None else find()
        if path is None:
            return None
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StackFileError(f"cannot read the stack file {path}: {exc}") from None
        try:
            return cls(**data)
        except TypeError:
            raise StackFileError(f"{path} is not a convhub stack file") from None


def find(start: Path | None = None) -> Path | None:
    """The stack.json this command uses (see the module docstring), or None."""
    named = os.environ.get(STACK_ENV)
    if named:
        path = Path(named).expanduser()
        if path.is_dir():
            nested = path / RELATIVE_PATH  # the checkout's folder rather than `.run`
            return nested if nested.is_file() else path / "stack.json"
        return path
    if os.environ.get(LEGACY_STACK_ENV):
        return Path(os.environ[LEGACY_STACK_ENV])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / RELATIVE_PATH).is_file():
            return folder / RELATIVE_PATH
    return None


def where_looked() -> str:
    """Where `find()` looked, for "no local stack" messages."""
    for variable in (STACK_ENV, LEGACY_STACK_ENV):
        if os.environ.get(variable):
            return f"{variable}={os.environ[variable]} names no stack.json"
    return f"no {RELATIVE_PATH} in {Path.cwd()} or its parents"


class Found(NamedTuple):
    value: str
    source: str  # where it came from, for messages: a flag, a variable or a stack.json path


def find_jwt_secret(explicit: str | None = None) -> Found | None:
    """--secret, then CONVHUB_JWT_SECRET / _FILE, then the running local stack's."""
    from hubkit.auth import SECRET_ENV, SECRET_FILE_ENV, load_jwt_secret

    if explicit:
        return Found(explicit, "--secret")
    from_env = load_jwt_secret(os.environ)
    if from_env:
        variable = SECRET_ENV if os.environ.get(SECRET_ENV) else SECRET_FILE_ENV
        return Found(from_env, variable)
    return _from_stack(lambda stack: stack.jwt_secret)


def find_service(name: str, explicit: str | None = None) -> Found | None:
    """--target, then CONVHUB_<NAME>_ADDR, then the running local stack's."""
    if explicit:
        return Found(explicit, "--target")
    variable = address_variable(name)
    if os.environ.get(variable):
        return Found(os.environ[variable], variable)
    return _from_stack(lambda stack: stack.services.get(name))


def address_variable(service: str) -> str:
    return f"CONVHUB_{service.upper().replace('-', '_')}_ADDR"


def _from_stack(pick: Callable[[StackInfo], str | None]) -> Found | None:
    path = find()
    stack = StackInfo.load(path) if path is not None else None
    value = pick(stack) if stack is not None else None
    return Found(value, str(path)) if value and path is not None else None
