"""Dispatch support pieces: settings to policy, credential files, response excerpts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hubkit.config import load
from hubkit.dispatch import CredentialsMissing, CredentialStore, DispatchPolicy, DispatchSettings
from hubkit.dispatch.model import ErrorClass
from hubkit.dispatch.redaction import SECRET, scrub
from hubkit.errors import ConfigError

BASE = {
    "CONVHUB_DATABASE_URL": "postgresql://x@h/db",
    "CONVHUB_NATS_URL": "nats://h:4222",
    "CONVHUB_CREDENTIALS_DIR": "/secrets",
    "CONVHUB_DB_SCHEMA": "dispatch_x",
}


def test_unset_policy_settings_keep_the_platform_defaults() -> None:
    settings = load(DispatchSettings, BASE)
    defaults = DispatchPolicy(batch_size=500, linger=0.3)
    assert settings.policy(defaults) == defaults
    assert settings.credentials_dir == Path("/secrets")


def test_policy_settings_override_and_are_validated() -> None:
    env = {
        **BASE,
        "CONVHUB_DISPATCH_BATCH_SIZE": "200",
        "CONVHUB_DISPATCH_RETRY_SCHEDULE": "0.5, 1,2",
        "CONVHUB_DISPATCH_BREAKER_OPEN_SECONDS": "5",
        "CONVHUB_DISPATCH_RETRY_HORIZON_SECONDS": "3600",
    }
    policy = load(DispatchSettings, env).policy(DispatchPolicy(), hard_max_batch=1000)
    assert (
        policy.batch_size,
        policy.retry_schedule,
        policy.breaker_open_seconds,
        policy.retry_horizon,
    ) == (200, (0.5, 1.0, 2.0), 5.0, 3600.0)
    with pytest.raises(ConfigError, match="at most 1000"):
        load(DispatchSettings, {**env, "CONVHUB_DISPATCH_BATCH_SIZE": "5000"}).policy(
            DispatchPolicy(), hard_max_batch=1000
        )
    with pytest.raises(ConfigError, match="RETRY_SCHEDULE"):
        load(DispatchSettings, {**env, "CONVHUB_DISPATCH_RETRY_SCHEDULE": "1,x"}).policy(
            DispatchPolicy()
        )
    with pytest.raises(ConfigError, match="dispatch policy"):
        load(DispatchSettings, {**env, "CONVHUB_DISPATCH_BURST": "0"}).policy(DispatchPolicy())
    with pytest.raises(ConfigError, match="retry_horizon"):
        load(DispatchSettings, {**env, "CONVHUB_DISPATCH_RETRY_HORIZON_SECONDS": "0"}).policy(
            DispatchPolicy()
        )


def test_missing_credentials_dir_names_the_variable() -> None:
    env = {k: v for k, v in BASE.items() if k != "CONVHUB_CREDENTIALS_DIR"}
    with pytest.raises(ConfigError, match="CONVHUB_CREDENTIALS_DIR"):
        load(DispatchSettings, env)


def test_credentials_are_read_per_reference_and_reread_when_rotated(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    (tmp_path / "meta-a").write_text('{"access_token": "one"}\n')
    assert store.read_json("meta-a") == {"access_token": "one"}
    (tmp_path / "meta-a").write_text('{"access_token": "two!"}\n')
    stat = (tmp_path / "meta-a").stat()
    os.utime(tmp_path / "meta-a", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert store.read_json("meta-a") == {"access_token": "two!"}
    (tmp_path / "plain").write_text("bare-token\n")
    assert store.read_json("plain") == {"access_token": "bare-token"}


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("", "no credentials reference"),
        ("../etc/passwd", "invalid"),
        (".hidden", "invalid"),
        ("absent", "not found"),
        ("empty", "is empty"),
        ("broken", "not valid JSON"),
    ],
)
def test_unusable_references_are_config_errors(tmp_path: Path, ref: str, why: str) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "broken").write_text("{nope")
    with pytest.raises(CredentialsMissing, match=why) as caught:
        CredentialStore(tmp_path).read_json(ref)
    assert caught.value.error.error_class is ErrorClass.CONFIG


def test_excerpts_lose_secrets_and_personal_data() -> None:
    text = (
        '{"error": {"message": "bad token EAABsecret123 for jane@example.com",'
        ' "access_token": "EAABsecret123"}} access_token=EAABsecret123&x=1'
        " Authorization: Bearer abc.def.ghi call +1 650 555 1212"
    )
    out = scrub(text, secrets=["EAABsecret123"])
    assert "EAABsecret123" not in out and "abc.def.ghi" not in out
    assert "jane@example.com" not in out and "555 1212" not in out
    assert out.count(SECRET) >= 3
    assert len(scrub("x" * 5000)) == 1024
