"""Unit tests for hubkit.auth: tokens, principals and fail-closed startup configuration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from hubkit import auth
from hubkit.auth import (
    DEV_FLAG,
    Principal,
    Scope,
    current_principal,
    issue_token,
    load_jwt_secret,
    require_auth_config,
    use_principal,
    verify_token,
)
from hubkit.errors import ConfigError, PermissionDenied, Unauthenticated

SECRET = "s" * 32
OTHER_SECRET = "o" * 32


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": "convhub",
        "aud": "convhub-api",
        "sub": "shop-backend",
        "iat": now,
        "exp": now + 600,
        "sites": ["a"],
        "scopes": ["ingest"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unauthenticated_message(token: str, secret: str = SECRET) -> str:
    with pytest.raises(Unauthenticated) as info:
        verify_token(secret, token)
    return info.value.message


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- tokens ----------------------------------------------------------------------------------


def test_round_trip() -> None:
    token = issue_token(SECRET, subject="crm", sites=["b", "a"], scopes=[Scope.INGEST, "read"])
    principal = verify_token(SECRET, token)
    assert principal == Principal(
        subject="crm", sites=frozenset({"a", "b"}), scopes=frozenset({Scope.INGEST, Scope.READ})
    )
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["iss"] == "convhub" and raw["aud"] == "convhub-api"
    assert raw["exp"] - raw["iat"] == 3600
    assert raw["sites"] == ["a", "b"] and raw["scopes"] == ["ingest", "read"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_issue_refuses_unknown_scope_and_short_secret() -> None:
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", sites=["a"], scopes=["superuser"])
    with pytest.raises(ConfigError):
        issue_token("short", subject="x", sites=["a"], scopes=["read"])


def test_bad_signature() -> None:
    token = issue_token(OTHER_SECRET, subject="x", sites=["a"], scopes=["read"])
    assert unauthenticated_message(token) == "Invalid token signature"


def test_tampered_payload_is_a_bad_signature() -> None:
    header, _, signature = issue_token(SECRET, subject="x", sites=["a"], scopes=["read"]).split(".")
    forged = b64(claims(sites=["*"], scopes=["admin"]))
    assert unauthenticated_message(f"{header}.{forged}.{signature}") == "Invalid token signature"


def test_expired() -> None:
    token = issue_token(
        SECRET, subject="x", sites=["a"], scopes=["read"], ttl_seconds=60, now=time.time() - 3600
    )
    assert unauthenticated_message(token) == "Token expired"


def test_expiry_leeway() -> None:
    # Expired 10 s ago: inside the default 30 s clock-skew leeway, outside a 5 s one.
    token = issue_token(
        SECRET, subject="x", sites=["a"], scopes=["read"], ttl_seconds=60, now=time.time() - 70
    )
    assert verify_token(SECRET, token).subject == "x"
    with pytest.raises(Unauthenticated, match=r"^Token expired$"):
        verify_token(SECRET, token, leeway=5)


def test_wrong_issuer() -> None:
    token = jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256")
    assert unauthenticated_message(token) == "Invalid token issuer"


def test_wrong_audience() -> None:
    token = jwt.encode(claims(aud="another-api"), SECRET, algorithm="HS256")
    assert unauthenticated_message(token) == "Invalid token audience"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "....", "e30.!!.e30"])
def test_malformed(token: str) -> None:
    assert unauthenticated_message(token) == "Malformed token"


def test_payload_that_is_not_json_is_malformed() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b"not json").rstrip(b"=").decode()
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    assert unauthenticated_message(f"{header}.{payload}.{signature}") == "Malformed token"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "sites", "scopes"])
def test_missing_claim(claim: str) -> None:
    token = jwt.encode(claims(**{claim: None}), SECRET, algorithm="HS256")
    assert unauthenticated_message(token) == f"Token missing claim '{claim}'"


def test_ill_typed_claims() -> None:
    token = jwt.encode(claims(sites="a"), SECRET, algorithm="HS256")
    assert unauthenticated_message(token) == "Invalid token claim 'sites'"
    token = jwt.encode(claims(exp="tomorrow"), SECRET, algorithm="HS256")
    assert unauthenticated_message(token) == "Malformed token"


def test_unknown_scopes_are_ignored() -> None:
    token = jwt.encode(claims(scopes=["read", "export"]), SECRET, algorithm="HS256")
    assert verify_token(SECRET, token).scopes == frozenset({Scope.READ})


def test_alg_none_rejected() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert unsigned.endswith(".")
    assert unauthenticated_message(unsigned) == "Invalid token algorithm"


def test_other_hmac_algorithm_rejected() -> None:
    token = jwt.encode(claims(), SECRET + SECRET, algorithm="HS512")
    assert unauthenticated_message(token, SECRET + SECRET) == "Invalid token algorithm"


def test_hand_forged_alg_none_with_admin_claims_rejected() -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(sites=['*'], scopes=['admin']))}."
    assert unauthenticated_message(token) == "Invalid token algorithm"


def test_verifier_caches_good_tokens_until_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = auth.TokenVerifier(SECRET, leeway=0, cache_size=2)
    now = time.time()
    token = issue_token(SECRET, subject="x", sites=["a"], scopes=["read"], ttl_seconds=60, now=now)
    assert verifier.verify(token).subject == "x"
    decodes = 0
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert verifier.verify(token).subject == "x"
    assert decodes == 0  # served from the cache
    later = now + 61
    monkeypatch.setattr(time, "time", lambda: later)  # the cache's clock

    class Later(datetime):  # PyJWT's clock
        @classmethod
        def now(cls, tz: Any = None) -> Later:
            return cls.fromtimestamp(later, tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    with pytest.raises(Unauthenticated, match="Token expired"):
        verifier.verify(token)  # the cache honours expiry
    assert decodes == 1


def test_verifier_never_caches_failures_and_stays_bounded() -> None:
    verifier = auth.TokenVerifier(SECRET, cache_size=2)
    bad = issue_token(OTHER_SECRET, subject="x", sites=["a"], scopes=["read"])
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="Invalid token signature"):
            verifier.verify(bad)
    tokens = [issue_token(SECRET, subject=f"s{i}", sites=["a"], scopes=["read"]) for i in range(5)]
    assert [verifier.verify(t).subject for t in tokens] == ["s0", "s1", "s2", "s3", "s4"]
    assert len(verifier._cache) == 2


# --- principal --------------------------------------------------------------------------------


def test_require_site_and_scope() -> None:
    p = Principal(subject="x", sites=frozenset({"a"}), scopes=frozenset({Scope.INGEST}))
    p.require(Scope.INGEST, site="a")
    p.require(Scope.INGEST)
    with pytest.raises(PermissionDenied) as info:
        p.require(Scope.INGEST, site="b")
    assert info.value.message == "token does not grant site 'b'"
    with pytest.raises(PermissionDenied) as info:
        p.require(Scope.ADMIN, site="a")
    assert info.value.message == "token lacks scope 'admin'"
    with pytest.raises(PermissionDenied, match="lacks scope 'read'"):
        p.require(Scope.READ)


def test_admin_implies_read_and_ingest_and_star_means_every_site() -> None:
    p = Principal(subject="ops", sites=frozenset({"*"}), scopes=frozenset({Scope.ADMIN}))
    for scope in Scope:
        p.require(scope, site="any-site")


def test_current_principal_follows_the_context() -> None:
    with pytest.raises(Unauthenticated):
        current_principal()
    p = Principal(subject="x", sites=frozenset({"a"}), scopes=frozenset({Scope.READ}))
    with use_principal(p):
        assert current_principal() is p
    with pytest.raises(Unauthenticated):
        current_principal()


# --- startup configuration --------------------------------------------------------------------


def test_secret_from_env() -> None:
    assert load_jwt_secret({"CONVHUB_JWT_SECRET": SECRET}) == SECRET
    assert load_jwt_secret({}) is None
    assert load_jwt_secret({"CONVHUB_JWT_SECRET": ""}) is None


def test_secret_from_file_strips_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text(SECRET + "\n")
    assert load_jwt_secret({"CONVHUB_JWT_SECRET_FILE": str(path)}) == SECRET


def test_secret_file_problems_are_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="CONVHUB_JWT_SECRET_FILE"):
        load_jwt_secret({"CONVHUB_JWT_SECRET_FILE": str(missing)})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        load_jwt_secret({"CONVHUB_JWT_SECRET_FILE": str(empty)})
    both = {"CONVHUB_JWT_SECRET": SECRET, "CONVHUB_JWT_SECRET_FILE": str(empty)}
    with pytest.raises(ConfigError, match="only one"):
        load_jwt_secret(both)


def test_refuses_to_start_without_secret_unless_dev_flag() -> None:
    with pytest.raises(ConfigError) as info:
        require_auth_config(None, dev_mode=False)
    message = str(info.value)
    assert "CONVHUB_JWT_SECRET" in message and DEV_FLAG in message
    require_auth_config(None, dev_mode=True)
    require_auth_config(SECRET, dev_mode=False)


def test_dev_flag_parsing() -> None:
    assert DEV_FLAG == "CONVHUB_DEV_NO_AUTH"
    assert auth.dev_mode_enabled({DEV_FLAG: "1"})
    assert auth.dev_mode_enabled({DEV_FLAG: "true"})
    assert not auth.dev_mode_enabled({DEV_FLAG: "0"})
    assert not auth.dev_mode_enabled({})


def test_short_secret_refused_even_in_dev_mode() -> None:
    for dev_mode in (False, True):
        with pytest.raises(ConfigError, match="31 bytes"):
            require_auth_config("x" * 31, dev_mode=dev_mode)
