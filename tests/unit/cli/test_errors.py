"""The `convhub` command's ordinary mistakes: one line on stderr, no traceback, exit 2 for how it
was called or configured and 1 for an operation that failed (no service listens in these tests:
the unreachable ones are closed ports)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from convhub_cli.main import build_parser, main, version
from hubkit.embedded import free_port

SECRET = "cli-unit-test-secret-long-enough-for-hs256"


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CONVHUB_* settings and a working folder outside any checkout: no stack to find."""
    for name in [n for n in os.environ if n.startswith("CONVHUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def convhub(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: usage errors, --help, --version
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


CLOSED = f"127.0.0.1:{free_port()}"  # nothing listens there


@pytest.mark.parametrize(
    ("argv", "env", "code", "says"),
    [
        (
            ["send", "--site", "s", "--order-id", "o", "--event-time", "yesterday"],
            {},
            2,
            "argument --event-time: not an ISO 8601 time: 'yesterday'",
        ),
        (["send", "--file", "/nonexistent"], {}, 2, "cannot read /nonexistent"),
        (["send", "--site", "s"], {}, 2, "give --site and --order-id (or --file)"),
        (["token", "--ttl", "-5"], {}, 2, "argument --ttl: expected a whole number above 0"),
        (["token"], {}, 2, "no JWT secret"),
        (
            ["token"],
            {"CONVHUB_JWT_SECRET": "short"},
            2,
            "CONVHUB_JWT_SECRET: JWT secret is 5 bytes; HS256 needs at least 32",
        ),
        (
            ["sites", "list", "--target", CLOSED],
            {"CONVHUB_JWT_SECRET": "short"},
            2,
            "HS256 needs at least 32",
        ),
        (
            ["status", "c-1", "--target", CLOSED],
            {"CONVHUB_JWT_SECRET_FILE": "/nonexistent"},
            2,
            "CONVHUB_JWT_SECRET_FILE: cannot read /nonexistent",
        ),
        (["status", "c-1"], {"CONVHUB_JWT_SECRET": SECRET}, 2, "no address for ingest"),
        (["health"], {}, 2, "no local stack found"),
        (["dlq", "list", "--since", "noon"], {}, 2, "not an ISO 8601 time: 'noon'"),
        (["dlq", "replay", "--platform", "meta"], {}, 2, "say what to replay"),
        (["dlq", "list", "--limit", "0"], {}, 2, "argument --limit"),
        (["dlq", "list", "--target", CLOSED], {}, 2, "--target needs --platform"),
        (["stats"], {"CONVHUB_JWT_SECRET": SECRET}, 2, "no dispatcher address"),
        (["attribution", "credit"], {}, 2, "the following arguments are required: --site"),
        (["attribution", "roas"], {}, 2, "the following arguments are required: --site"),
        (
            ["attribution", "roas", "--site", "s", "--days", "7", "--since", "2026-01-01"],
            {},
            2,
            "argument --since: not allowed with argument --days",
        ),
        (
            [
                "attribution",
                "roas",
                "--site",
                "s",
                "--since",
                "2026-02-01",
                "--until",
                "2026-01-01",
            ],
            {},
            2,
            "--until must come after the start of the range",
        ),
        (
            ["attribution", "spend", "--token", "t"],
            {},
            2,
            "the following arguments are required: --site",
        ),
        (
            ["attribution", "spend", "record", "--site", "s", "--file", "/nonexistent"],
            {},
            2,
            "cannot read /nonexistent: No such file or directory",
        ),
        (
            ["attribution", "rates", "record", "--site", "s"],
            {},
            2,
            "the following arguments are required: --file",
        ),
        (["attribution", "jobs", "run", "cleanup"], {}, 2, "invalid choice: 'cleanup'"),
        (
            ["attribution", "jobs", "run", "spend-sync", "--days", "401"],
            {},
            2,
            "argument --days: expected 1 to 400 days, got '401'",
        ),
        (["sites", "upsert", "--google-action", "x"], {}, 2, "expects EVENT=VALUE"),
        (["sources"], {"CONVHUB_JWT_SECRET": SECRET}, 2, "no address for ingest"),
        (["sources", "sync"], {}, 2, "the following arguments are required: source"),
        (["sources", "sync", "salesforce"], {}, 2, "invalid choice: 'salesforce'"),
        (
            ["sources", "sync", "hubspot", "--backfill-days", "91"],
            {},
            2,
            "argument --backfill-days: expected 0 to 90 days, got '91'",
        ),
        (
            ["sources", "sync", "hubspot", "--backfill-days", "-1"],
            {},
            2,
            "argument --backfill-days: expected a whole number, 0 or more",
        ),
        (["nonsense"], {}, 2, "invalid choice: 'nonsense'"),
        # Failed operations: exit 1.
        (
            ["dlq", "list", "--platform", "meta", "--target", CLOSED],
            {"CONVHUB_JWT_SECRET": SECRET},
            1,
            f"cannot reach dispatch-meta at {CLOSED} (address from --target): Connection refused",
        ),
        (
            ["send", "--site", "s", "--order-id", "o"],
            {"CONVHUB_JWT_SECRET": SECRET, "CONVHUB_INGEST_ADDR": CLOSED},
            1,
            f"cannot reach ingest at {CLOSED} (address from CONVHUB_INGEST_ADDR)",
        ),
        (
            # A token given is used as it is: no secret needed to get as far as the call.
            ["attribution", "paths", "--site", "s", "--target", CLOSED, "--token", "t"],
            {},
            1,
            f"cannot reach attribution at {CLOSED}",
        ),
        (
            ["status", "c-1", "--target", CLOSED],
            {"CONVHUB_TOKEN": "t"},
            1,
            f"cannot reach ingest at {CLOSED}",
        ),
        (
            ["sources", "--target", CLOSED],
            {"CONVHUB_JWT_SECRET": SECRET},
            1,
            f"cannot reach ingest at {CLOSED} (address from --target): Connection refused",
        ),
        (
            ["sources", "sync", "hubspot", "--site", "s"],
            {"CONVHUB_TOKEN": "t", "CONVHUB_INGEST_ADDR": CLOSED},
            1,
            f"cannot reach ingest at {CLOSED} (address from CONVHUB_INGEST_ADDR)",
        ),
        (
            ["sources", "sync", "hubspot"],  # every site: asking which is the first call
            {"CONVHUB_TOKEN": "t", "CONVHUB_INGEST_ADDR": CLOSED},
            1,
            f"cannot reach ingest at {CLOSED}",
        ),
        (
            ["attribution", "jobs", "--target", CLOSED, "--token", "t"],
            {},
            1,
            f"cannot reach attribution at {CLOSED} (address from --target): Connection refused",
        ),
        (
            ["attribution", "jobs", "run", "rollup", "--site", "s"],
            {"CONVHUB_JWT_SECRET": SECRET, "CONVHUB_ATTRIBUTION_ADDR": CLOSED},
            1,
            f"cannot reach attribution at {CLOSED} (address from CONVHUB_ATTRIBUTION_ADDR)",
        ),
        (
            ["attribution", "roas", "--site", "s"],
            {"CONVHUB_TOKEN": "t", "CONVHUB_ATTRIBUTION_ADDR": CLOSED},
            1,
            f"cannot reach attribution at {CLOSED}",
        ),
        (["health", "--target", f"ingest={CLOSED}"], {}, 1, "1 of 1 services not serving"),
    ],
)
def test_error_is_one_line_with_its_exit_status(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    code: int,
    says: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    got, _, err = convhub(capsys, *argv)
    assert got == code, err
    assert says in one_line(err)


def test_an_unreachable_dispatcher_is_an_error_not_an_empty_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVHUB_JWT_SECRET", SECRET)
    monkeypatch.setenv("CONVHUB_DISPATCH_META_ADDR", CLOSED)
    for argv in (["dlq", "list"], ["stats"], ["delivery", "c-1"]):
        code, out, err = convhub(capsys, *argv)
        assert code == 1 and "no dead letters" not in out
        assert one_line(err).startswith(f"convhub: cannot reach dispatch-meta at {CLOSED}")


def test_a_broken_stack_file_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, nowhere: Path
) -> None:
    (nowhere / "stack.json").write_text("{")
    monkeypatch.setenv("CONVHUB_STACK", str(nowhere))
    code, _, err = convhub(capsys, "status", "c-1")
    assert code == 2 and "cannot read the stack file" in one_line(err)
    (nowhere / "stack.json").write_text('{"hello": 1}')
    code, _, err = convhub(capsys, "health")
    assert code == 2 and "is not a convhub stack file" in one_line(err)


def test_debug_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVHUB_JWT_SECRET", "short")
    code, _, err = convhub(capsys, "--debug", "token")
    assert code == 2 and "Traceback" in err and err.strip().endswith("needs at least 32")
    monkeypatch.setenv("CONVHUB_DEBUG", "1")
    code, _, err = convhub(capsys, "token")
    assert code == 2 and "Traceback" in err


def test_bare_convhub_and_bare_groups_show_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = convhub(capsys)
    assert code == 0 and out.startswith("usage: convhub") and "send" in out and not err
    for group in ("sites", "dlq", "attribution", "attribution rates"):
        code, out, _ = convhub(capsys, *group.split())
        assert code == 0 and out.startswith(f"usage: convhub {group}")


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = convhub(capsys, "--version")
    assert code == 0 and out.strip() == f"convhub {version()}" and version() != "unknown"


def test_every_flag_is_described_and_required_ones_are_marked() -> None:
    undescribed: list[str] = []
    pending = [build_parser()]
    while pending:
        parser = pending.pop()
        for action in parser._actions:
            if action.choices and isinstance(action.choices, dict):  # subcommands
                pending += action.choices.values()
            elif not action.help:
                undescribed.append(
                    f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
                )
        if any(a.required and a.option_strings for a in parser._actions):
            assert "(required)" in parser.format_help(), parser.prog
    assert undescribed == []


def test_every_service_command_takes_token_and_json() -> None:
    missing: list[str] = []
    pending = [build_parser()]
    while pending:
        parser = pending.pop()
        subcommands = [a for a in parser._actions if isinstance(a.choices, dict)]
        for action in subcommands:
            pending += action.choices.values()  # type: ignore[union-attr]
        flags = {f for a in parser._actions for f in a.option_strings}
        if not subcommands and parser.prog not in ("convhub up", "convhub token"):
            missing += [f"{parser.prog} {f}" for f in ("--token", "--json") if f not in flags]
    assert missing == []


def test_run_as_a_module_errors_are_one_line_too(nowhere: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "convhub_cli.main", "send", "--file", str(nowhere / "none.jsonl")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=nowhere,
    )
    assert done.returncode == 2
    assert (
        one_line(done.stderr)
        == f"convhub: cannot read {nowhere / 'none.jsonl'}: No such file or directory"
    )
