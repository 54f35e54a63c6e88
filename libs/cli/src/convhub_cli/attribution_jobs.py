"""`convhub attribution jobs` (ListJobs: each scheduled job's last run) and `convhub attribution
jobs run <job>` (RunJob: what the Kubernetes CronJobs call). A run answers once done, which can
take minutes (a throttled ad platform is waited out): the call's deadline is long, and on a
terminal a line shows how long it has been running."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import grpc

from convhub.attribution.v1 import attribution_pb2 as pb
from convhub_cli import grpc_client
from convhub_cli.attribution_cmds import call, print_table, run, service_flags
from convhub_cli.main import Failed, Progress, non_negative_float, print_json
from convhub_cli.sources_cmds import age
from hubkit.auth import Scope

# Command-line name -> the job; in the order the service's enum lists them.
JOBS = {
    "rollup": pb.JOB_ROLLUP,
    "spend-sync": pb.JOB_SPEND_SYNC,
    "recalculate": pb.JOB_RECALCULATE,
    "retry-unattributed": pb.JOB_RETRY_UNATTRIBUTED,
    "reconcile": pb.JOB_RECONCILE,
    "export": pb.JOB_EXPORT,
}
JOB_NAMES = {value: name for name, value in JOBS.items()}
MAX_DAYS = 400  # what RunJob accepts
DEFAULT_TIMEOUT = 3600.0
HEADER = ("JOB", "SCOPE", "LAST RUN", "DURATION", "OUTCOME", "COUNTS")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = commands.add_parser(
        "jobs",
        help="the scheduled jobs: each one's last run",
        description="Each scheduled job's last run per scope (a site, or * for every site):"
        " when it started, how long it took, its outcome and what it did. A job that never"
        " ran shows `never`. `jobs run` runs one now.",
    )
    service_flags(jobs)
    jobs.set_defaults(func=lambda a: run(_list(a)))
    actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    one = actions.add_parser(
        "run",
        help="run one job now and wait for its outcome (what the CronJobs call)",
        description="Run a job now, for one site or every site, and print its run. Every job"
        " is safe to run twice and to run late. Exit 1 when its outcome is not ok (a run over"
        " every site fails when any site failed; the others are done).",
    )
    one.add_argument("job", choices=list(JOBS), help="the job")
    one.add_argument("--site", help="one site (default: every site)")
    one.add_argument(
        "--days",
        type=job_days,
        default=0,
        metavar="N",
        help="the job's window in days, 1 to 400: spend-sync's back-fill (7), recalculate's"
        " (3), reconcile's (2), retry-unattributed's (the site's lookback) (default: the job's)",
    )
    one.add_argument(
        "--timeout",
        type=non_negative_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"wait this long for the outcome (default {DEFAULT_TIMEOUT:g}; 0: no limit)",
    )
    service_flags(one)
    for action in one._actions:  # given before `run` or after it, a shared flag counts
        if action.dest in ("target", "token", "json"):
            action.default = argparse.SUPPRESS
    one.set_defaults(func=lambda a: run(_run_job(a)))


def job_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_DAYS} days, got {text!r}")
    return days


# --- convhub attribution jobs ------------------------------------------------------------------


async def _list(args: argparse.Namespace) -> int:
    answer = await call(args, "ListJobs", pb.ListJobsRequest())
    if args.json:
        print_json(answer)
    else:
        print_table(HEADER, job_rows(answer.runs, datetime.now(UTC)), set())
    return 0


def job_rows(runs: Sequence[pb.JobRun], now: datetime) -> list[list[str]]:
    """Every job in schedule order, each scope of it that ran (site scopes by name, "*" first);
    a job that never ran, one row saying so."""
    rows = []
    for name, job in JOBS.items():
        mine = sorted((r for r in runs if r.job == job), key=lambda r: (r.scope != "*", r.scope))
        if not mine:
            rows.append([name, "-", "never", "-", "-", "-"])
        rows += [run_row(r, now) for r in mine]
    return rows


def run_row(r: pb.JobRun, now: datetime) -> list[str]:
    started = r.started_at.ToDatetime(UTC)
    return [
        JOB_NAMES.get(r.job, str(r.job)),
        r.scope,
        f"{started.isoformat(timespec='seconds').replace('+00:00', 'Z')} ({age(started, now)})",
        duration(r.duration_seconds),
        one_line(r.outcome),
        counts(r.counts),
    ]


def one_line(text: str) -> str:
    """An outcome on one line (a failure's cause may span several)."""
    return " ".join(text.split())


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def counts(values: Mapping[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(values.items())) or "-"


# --- convhub attribution jobs run --------------------------------------------------------------


async def _run_job(args: argparse.Namespace) -> int:
    request = pb.RunJobRequest(job=JOBS[args.job], site_id=args.site or "", days=args.days)
    scope = args.site or "every site"
    with Progress() as progress:
        call_ = asyncio.ensure_future(
            call(args, "RunJob", request, scopes=(Scope.ADMIN,), deadline=args.timeout or None)
        )
        started = asyncio.get_running_loop().time()
        while not call_.done():
            elapsed = asyncio.get_running_loop().time() - started
            progress.show(f"running {args.job} for {scope} ... {elapsed:.0f} s")
            await asyncio.wait([call_], timeout=0.5)
    try:
        answer: pb.RunJobResponse = call_.result()
    except grpc_client.RpcFailed as exc:
        if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Failed(
                f"{args.job} gave no outcome within {args.timeout:g} s; it may still be running:"
                " `convhub attribution jobs` shows its run once done (--timeout waits longer)"
            ) from None
        raise
    if args.json:
        print_json(answer)
    else:
        print_table(HEADER, [run_row(answer.run, datetime.now(UTC))], set())
    if answer.run.outcome != "ok":
        raise Failed(f"{args.job} ({answer.run.scope}): {one_line(answer.run.outcome)}")
    return 0
