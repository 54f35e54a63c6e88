"""The checks themselves checked: the layering contracts of pyproject.toml [tool.importlinter]
hold for the code as it is, and `lint-imports` (as `make lint` runs it) fails on a copy of the
code with one deliberate violation of each rule; `make help` lists every target."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = [
    *sorted(p for p in ROOT.glob("services/*/src/*") if (p / "__init__.py").exists()),
    ROOT / "libs/kit/src/hubkit",
    ROOT / "libs/simulators/src/convhub_sim",
]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The services, the kit and the simulators, copied where a test may break them."""
    root = tmp_path_factory.mktemp("layering")
    for package in PACKAGES:
        shutil.copytree(
            package, root / "src" / package.name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH comes before the editable installs: the copy is what gets analysed.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_code_keeps_every_contract() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        pytest.param(
            "ingest/domain/model.py",
            "from ingest.adapters import orm",
            "Each service is layered",
            id="domain-imports-an-adapter",
        ),
        pytest.param(
            "router/domain/site.py",
            "import router.app.sites",
            "Each service is layered",
            id="domain-imports-the-app",
        ),
        pytest.param(
            "attribution/domain/rules.py",
            "import sqlalchemy",
            "Domains are pure",
            id="domain-imports-sqlalchemy",
        ),
        pytest.param(
            "dispatch_tiktok/domain/rules.py",
            "from hubkit.dispatch import http",
            "Domains are pure",
            id="domain-reaches-httpx-through-the-kit",
        ),
        pytest.param(
            "dispatch_meta/app/platform.py",
            "from dispatch_meta.adapters import graph_client",
            "Each service is layered",
            id="app-imports-an-adapter",
        ),
        pytest.param(
            "ingest/app/ingestion.py",
            "import nats",
            "Use cases reach the database, bus, RPC and HTTP only through ports",
            id="app-imports-nats",
        ),
        pytest.param(
            "attribution/adapters/grpc_api.py",
            "from attribution import main",
            "Each service is layered",
            id="a-second-composition-root",
        ),
        pytest.param(
            "ingest/app/ingestion.py",
            "import router.domain.site",
            "Services never import each other",
            id="service-imports-another-service",
        ),
        pytest.param(
            "hubkit/errors.py",
            "import ingest",
            "The kit and the simulators import no service",
            id="kit-imports-a-service",
        ),
    ],
)
def test_a_violation_breaks_the_lint(copy: Path, module: str, line: str, broken: str) -> None:
    path = copy / "src" / module
    original = path.read_text()
    path.write_text(f"{original}\n{line}  # the deliberate violation\n")
    try:
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken_section = result.stdout.split("Broken contracts", 1)[-1]
    assert broken in broken_section, result.stdout


def test_the_copy_alone_keeps_every_contract(copy: Path) -> None:
    """The copy is faithful: without a violation it passes too (so a failure above is the line)."""
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z0-9_-]+):(?!=)", makefile, re.MULTILINE))
    assert {"help", "lint", "test", "k8s-check"} <= targets
    shown = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.strip()}
    assert listed == targets
