"""Service settings read from the environment once, validated, failing fast naming the variable.

A service declares a frozen dataclass; each field is read from `CONVHUB_<FIELD>` unless its
metadata names another variable (`env("OTEL_SERVICE_NAME")`). A field without a default is
required. Nothing outside a service's `config.py` reads `os.environ`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from hubkit.errors import ConfigError

PREFIX = "CONVHUB_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

T = TypeVar("T")


def env(name: str) -> dict[str, str]:
    """Field metadata naming the variable explicitly: `field(default=..., metadata=env("X"))`."""
    return {"env": name}


def variable_name(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("env", PREFIX + field.name.upper()))


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `cls` from the environment; raise ConfigError naming every missing or bad variable."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = variable_name(field)
        raw = environ.get(name)
        if raw is None or (raw == "" and hints[field.name] is not str):
            no_default = (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            if no_default:
                problems.append(f"missing required environment variable {name}")
            continue
        try:
            values[field.name] = _parse(hints[field.name], raw)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ConfigError("; ".join(problems))
    return cls(**values)


def _parse(hint: Any, raw: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):  # Optional[X]: parse as X
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _parse(inner[0], raw)
    if hint is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected a boolean, got {raw!r}")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    if hint is Path:
        return Path(raw)
    if origin is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaseSettings:
    """What every convhub service reads. Services subclass it (kw_only) and add their own fields."""

    database_url: str
    nats_url: str
    grpc_port: int = 50051
    grpc_host: str = "0.0.0.0"  # `convhub up` sets 127.0.0.1: the local stack stays on loopback
    service_name: str = dataclasses.field(default="convhub", metadata=env("OTEL_SERVICE_NAME"))
    jwt_secret: str | None = None
    jwt_secret_file: Path | None = None
    dev_no_auth: bool = False
    log_level: str = "INFO"
    grpc_max_message_bytes: int = 8 * 1024 * 1024
    shutdown_grace_seconds: float = 10.0
