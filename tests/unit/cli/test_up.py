"""`convhub up` pieces: one run per folder, --simulators, commands shown runnable, the demo line."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from convhub.attribution.v1 import attribution_pb2
from convhub.common.v1 import common_pb2
from convhub_cli import demo, sites, up
from convhub_cli.demo import Summary
from convhub_cli.stackfile import StackInfo
from convhub_sim.reporting import SeededSpend


def test_one_up_per_folder_and_a_leftover_lock_file_blocks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / ".run"
    run_dir.mkdir()
    StackInfo("db", "nats", "secret", services={"ingest": "127.0.0.1:50001"}).save(
        run_dir / "stack.json"
    )
    first = up._claim(run_dir)
    assert first is not None
    assert up._claim(run_dir) is None  # held: the second is told where the first one is
    err = capsys.readouterr().err
    assert f"already running from this folder (pid {os.getpid()})" in err
    assert str(run_dir.resolve() / "stack.json") in err and "127.0.0.1:50001" in err
    first.close()  # as when its process ends, however it ends
    assert (run_dir / "up.lock").exists()
    again = up._claim(run_dir)
    assert again is not None
    again.close()


def test_simulators_all_none_or_a_list() -> None:
    assert up.simulator_names("all") == ["google", "hubspot", "meta", "sgtm", "tiktok"]
    assert up.simulator_names("none") == []
    assert up.simulator_names("meta, sgtm") == ["meta", "sgtm"]
    with pytest.raises(argparse.ArgumentTypeError, match="no simulator facebook: use all, none"):
        up.simulator_names("meta,facebook")


def test_the_convhub_command_shown_runs_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the virtualenv not activated
    for cwd in (bin_dir.parent.parent, tmp_path):  # the checkout (.venv/bin/python), elsewhere
        monkeypatch.chdir(cwd)
        command = up.convhub_command()
        assert Path(command).is_absolute() != bin_dir.is_relative_to(cwd)  # .venv/bin/convhub
        done = subprocess.run(f"{command} --help", shell=True, cwd=cwd, capture_output=True)
        assert done.returncode == 0, done.stderr
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert up.convhub_command() == "convhub"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_demo_rewrites_one_line_on_a_terminal() -> None:
    out, stop = _Terminal(), threading.Event()
    summary = Summary(stop, out, report_every=30)
    summary.sent = summary.accepted = 6
    summary.show()
    summary.outcomes.update(["meta confirmed", "meta confirmed", "google sent"])
    summary.show()
    text = out.getvalue()
    assert "\n" not in text and text.count("\r\x1b[K") == 2
    assert text.endswith("6 sent, 6 accepted | latest: google sent, meta confirmed x2")
    stop.set()
    summary.show()
    assert out.getvalue() == text  # stopping: the stack's own lines come now


def test_the_demo_prints_a_line_every_n_seconds_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    out, now = io.StringIO(), [1000.0]
    monkeypatch.setattr("convhub_cli.demo.time.monotonic", lambda: now[0])
    summary = Summary(threading.Event(), out, report_every=30)
    for _ in range(10):  # every 3 s, for 30 s
        summary.show()
        now[0] += 3
    summary.show()
    assert len(out.getvalue().splitlines()) == 2


def test_the_banner_names_the_webhook_urls_and_convhub_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    info = StackInfo("db", "nats", "secret", services={"ingest": "127.0.0.1:50001"})
    info.webhooks = "http://127.0.0.1:50002/webhooks"
    up._print_banner(info, {}, ["hubspot"])
    out = capsys.readouterr().out
    assert (
        "  webhooks         http://127.0.0.1:50002/webhooks/<shopify|woocommerce|hubspot>/<site_id>"
        in out
    )
    assert " sources " in out


def test_the_banner_shows_the_exports_and_the_roas_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    info = StackInfo("db", "nats", "secret", services={"attribution": "127.0.0.1:50003"})
    up._print_banner(info, {}, [])
    out = capsys.readouterr().out
    assert "  exports          .run/exports/<site_id>/" in out
    assert "attribution roas --site demo-direct --by campaign" in out
    assert "attribution jobs " in out


def test_the_demo_site_has_ad_accounts_and_a_reporting_currency() -> None:
    (direct,) = sites.demo_sites(None, ["google", "meta", "tiktok"])
    d = direct.destinations
    assert (d.meta.ad_account_id, d.meta.credentials_ref) == (
        sites.DEMO_META_AD_ACCOUNT,
        "demo-meta",
    )
    assert d.tiktok.advertiser_id == sites.DEMO_TIKTOK_ADVERTISER and d.tiktok.credentials_ref
    assert d.google.customer_id and d.google.credentials_ref  # Google's spend: the same account
    assert direct.attribution.reporting_currency == "EUR"


def test_the_seeded_spend_is_a_week_the_simulators_take_and_the_touchpoints_name() -> None:
    today = date(2026, 11, 30)
    knobs = demo.seeded_spend(today)
    assert set(knobs) == {"google", "meta", "tiktok"}
    for platform, knob in knobs.items():
        assert knob["kind"] == "seed_spend"
        arguments = {k: v for k, v in knob.items() if k != "kind"}
        SeededSpend().seed(**arguments)  # what the simulators' knob does with it: no ValueError
        days = {row["date"] for row in knob["rows"]}
        assert days == {(today - timedelta(days=n)).isoformat() for n in range(7)}, platform
    assert knobs["tiktok"]["currency"] == "USD" and knobs["google"]["currency"] == "EUR"
    # Every seeded campaign is one the demo's touchpoints carry, on the channel its spend gets.
    touched = {(channel, campaign) for channel, _, _, campaign in demo._CHANNELS}
    channel = {"google": "paid_search", "meta": "paid_social", "tiktok": "paid_social"}
    for platform, knob in knobs.items():
        for row in knob["rows"]:
            assert (channel[platform], row["campaign"]) in touched


def test_the_roas_line_reads_the_blended_total() -> None:
    answer = attribution_pb2.GetRoasResponse(
        currency="EUR",
        total=attribution_pb2.RoasRow(
            key="total",
            spend=common_pb2.Money(value="1234.5", currency="EUR"),
            revenue=common_pb2.Money(value="4938", currency="EUR"),
            roas=common_pb2.Decimal(value="4"),
        ),
    )
    assert demo.roas_line(answer, "demo-direct") == (
        "ROAS of demo-direct, last click, 7 days: spend 1234.50 EUR, attributed revenue"
        " 4938.00 EUR, blended ROAS 4.00 (`convhub attribution roas --site demo-direct"
        " --by campaign`)"
    )
    answer.total.ClearField("roas")
    answer.total.spend.value = "0"
    assert "spend 0.00 EUR" in demo.roas_line(answer, "demo-direct")
    assert "blended ROAS - (no spend)" in demo.roas_line(answer, "demo-direct")
