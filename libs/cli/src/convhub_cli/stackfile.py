"""Where a running local stack is: `convhub up` writes it, the other subcommands read it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_PATH = Path(os.environ.get("CONVHUB_STACK_FILE", ".run/stack.json"))


@dataclass
class StackInfo:
    database_url: str
    nats_url: str
    jwt_secret: str
    services: dict[str, str] = field(default_factory=dict)  # name -> host:port
    simulators: dict[str, str] = field(default_factory=dict)  # name -> base URL

    def save(self, path: Path = DEFAULT_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.chmod(0o600)  # it holds the development JWT secret
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> StackInfo | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None


def jwt_secret(explicit: str | None = None) -> str | None:
    """--secret, then CONVHUB_JWT_SECRET / _FILE, then the running local stack's."""
    from hubkit.auth import load_jwt_secret

    if explicit:
        return explicit
    found = load_jwt_secret(os.environ)
    if found:
        return found
    stack = StackInfo.load()
    return stack.jwt_secret if stack else None


def service_address(name: str, explicit: str | None = None) -> str | None:
    """--target, then CONVHUB_<NAME>_ADDR, then the running local stack's."""
    if explicit:
        return explicit
    env_name = f"CONVHUB_{name.upper().replace('-', '_')}_ADDR"
    if os.environ.get(env_name):
        return os.environ[env_name]
    stack = StackInfo.load()
    return stack.services.get(name) if stack else None
