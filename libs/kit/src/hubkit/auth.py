"""Bearer-token auth: HS256 JWTs naming sites and scopes, the caller they carry, its contextvar."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt

from hubkit.errors import ConfigError, PermissionDenied, Unauthenticated

ISSUER = "convhub"
AUDIENCE = "convhub-api"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash
ALL_SITES = "*"

SECRET_ENV = "CONVHUB_JWT_SECRET"
SECRET_FILE_ENV = "CONVHUB_JWT_SECRET_FILE"
DEV_FLAG = "CONVHUB_DEV_NO_AUTH"
_TRUE = frozenset({"1", "true", "yes", "on"})

# Registered claims every token must carry; `sites` and `scopes` are checked after decoding.
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what the token lets them do. `"*"` in `sites` means every site."""

    subject: str
    sites: frozenset[str]
    scopes: frozenset[Scope]

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes  # admin implies the others

    def allows_site(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites

    def require(self, scope: Scope, site: str | None = None) -> None:
        """Raise PermissionDenied unless the token grants `scope` (and `site`, when given)."""
        if not self.has_scope(scope):
            raise PermissionDenied(f"token lacks scope '{scope}'")
        if site is not None and not self.allows_site(site):
            raise PermissionDenied(f"token does not grant site '{site}'")


# What every call acts as when a service runs with the development flag and no secret.
DEV_PRINCIPAL = Principal(subject="dev", sites=frozenset({ALL_SITES}), scopes=frozenset(Scope))


def issue_token(
    secret: str,
    *,
    subject: str,
    sites: Iterable[str],
    scopes: Iterable[Scope | str],
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """Sign a token for `subject`; `now` (epoch seconds) lets tests mint expired tokens."""
    _check_secret_length(secret)
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "sites": sorted(set(sites)),
        "scopes": sorted({Scope(s).value for s in scopes}),  # Scope() rejects unknown names
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, leeway: float = 30) -> Principal:
    """Check signature, algorithm, issuer, audience and expiry; raise Unauthenticated with why."""
    return _verify(secret, token, leeway)[0]


class TokenVerifier:
    """verify_token for one secret, remembering tokens already verified until they expire.

    A client reuses its token for many calls and a check costs ~50 µs, a sizeable share of a
    unary RPC. Entries are keyed by the whole token (signature included), so only the exact
    bytes that passed verification hit the cache; failures are never cached.
    """

    def __init__(self, secret: str, *, leeway: float = 30, cache_size: int = 1024) -> None:
        self._secret = secret
        self._leeway = leeway
        self._cache_size = max(1, cache_size)
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()  # sync handlers authenticate on grpc's thread pool

    def verify(self, token: str) -> Principal:
        with self._lock:
            hit = self._cache.pop(token, None)
            if hit is not None and time.time() < hit[1] + self._leeway:  # PyJWT's expiry rule
                self._cache[token] = hit  # re-insert: recently used tokens are evicted last
                return hit[0]
        principal, expires_at = _verify(self._secret, token, self._leeway)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]  # oldest first (dicts keep order)
            self._cache[token] = (principal, expires_at)
        return principal


def _verify(secret: str, token: str, leeway: float) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # fixed allow-list: `none` and RS/ES confusion are refused
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.InvalidAlgorithmError:
        raise Unauthenticated("Invalid token algorithm") from None
    except jwt.InvalidSignatureError:  # subclass of DecodeError: must come first
        raise Unauthenticated("Invalid token signature") from None
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Token expired") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("Invalid token issuer") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("Invalid token audience") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"Token missing claim '{exc.claim}'") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated("Token not yet valid") from None
    except jwt.InvalidTokenError:  # DecodeError and ill-typed registered claims
        raise Unauthenticated("Malformed token") from None
    principal = Principal(
        subject=claims["sub"],
        sites=frozenset(_string_list(claims, "sites")),
        # Unknown scopes are ignored, not fatal, so a newer issuer can roll out before services.
        scopes=frozenset(Scope(s) for s in _string_list(claims, "scopes") if s in _SCOPE_VALUES),
    )
    return principal, float(claims["exp"])  # PyJWT already checked that exp is an integer


_SCOPE_VALUES = frozenset(s.value for s in Scope)


def _string_list(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        raise Unauthenticated(f"Token missing claim '{name}'")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unauthenticated(f"Invalid token claim '{name}'")
    return value


# --- startup configuration -------------------------------------------------------------------


def resolve_jwt_secret(secret: str | None, secret_file: str | Path | None) -> str | None:
    """The secret given inline or in a file (as a Kubernetes Secret volume mounts it), or None."""
    secret = secret or None
    if secret is not None and secret_file:
        raise ConfigError(f"set only one of {SECRET_ENV} and {SECRET_FILE_ENV}")
    if secret_file:
        try:
            text = Path(secret_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{SECRET_FILE_ENV}: cannot read {secret_file}: {exc.strerror}"
            ) from None
        secret = text.rstrip("\r\n")  # `echo secret > file` and kubectl leave a newline
        if not secret:
            raise ConfigError(f"{SECRET_FILE_ENV}: {secret_file} is empty")
    return secret


def load_jwt_secret(environ: Mapping[str, str]) -> str | None:
    """Read CONVHUB_JWT_SECRET or the file named by CONVHUB_JWT_SECRET_FILE."""
    return resolve_jwt_secret(environ.get(SECRET_ENV), environ.get(SECRET_FILE_ENV))


def dev_mode_enabled(environ: Mapping[str, str]) -> bool:
    return environ.get(DEV_FLAG, "").strip().lower() in _TRUE


def require_auth_config(secret: str | None, dev_mode: bool) -> None:
    """Fail closed: refuse to start without a usable secret unless the dev flag says otherwise.

    A configured secret is always enforced, even with the dev flag set.
    """
    if secret:
        _check_secret_length(secret)
    elif not dev_mode:
        raise ConfigError(
            f"no JWT secret configured: set {SECRET_ENV} or {SECRET_FILE_ENV} "
            f"(or {DEV_FLAG}=1 to run without auth, for development only)"
        )


def _check_secret_length(secret: str) -> None:
    size = len(secret.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        raise ConfigError(f"JWT secret is {size} bytes; HS256 needs at least {MIN_SECRET_BYTES}")


# --- the caller of the current request -------------------------------------------------------

_principal: ContextVar[Principal | None] = ContextVar("convhub_principal", default=None)


def current_principal() -> Principal:
    """The authenticated caller of the request being handled (set by the gRPC interceptor)."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("No authenticated caller")
    return principal


@contextmanager
def use_principal(principal: Principal) -> Iterator[Principal]:
    """Act as `principal` inside the block (the interceptor, NATS consumers, tests)."""
    token = _principal.set(principal)
    try:
        yield principal
    finally:
        _principal.reset(token)
