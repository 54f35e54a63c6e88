"""Generate the convhub-genproto package (Python, .pyi stubs, gRPC stubs) from protos/.

With `-I protos`, protos/convhub/<area>/v1/<file>.proto becomes the module
convhub.<area>.v1.<file>_pb2, so the generated imports work as they are (no rewriting).

    python libs/genproto/gen.py                 # regenerate libs/genproto/src/convhub
    python libs/genproto/gen.py --out /tmp/gen  # generate elsewhere (drift check)
    python libs/genproto/gen.py --check         # exit 1 if the committed code is stale

Needs grpcio-tools (pinned: its protoc version is written into the generated files).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROTOS = REPO / "protos"
DEFAULT_OUT = REPO / "libs" / "genproto" / "src"
ROOT_PACKAGE = "convhub"


def proto_files(protos: Path) -> list[Path]:
    """Every .proto under protos/convhub, sorted for a deterministic command line."""
    files = sorted((protos / ROOT_PACKAGE).rglob("*.proto"))
    if not files:
        raise SystemExit(f"no .proto files under {protos / ROOT_PACKAGE}")
    return files


def generate(protos: Path, out: Path) -> Path:
    """Regenerate <out>/convhub from scratch; return that directory."""
    from grpc_tools import protoc  # imported here so --help works without grpcio-tools

    well_known = Path(str(resources.files("grpc_tools") / "_proto"))
    target = out / ROOT_PACKAGE
    if target.exists():
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)

    files = proto_files(protos)
    args = [
        "grpc_tools.protoc",
        f"-I{protos}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(f) for f in files),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed (see the messages above)")

    # Only our own namespace may be generated: google/protobuf/* comes from the protobuf wheel.
    if (out / "google").exists():
        raise SystemExit(f"{out}/google exists: only well-known google types may be imported")

    for directory in sorted([target, *(p for p in target.rglob("*") if p.is_dir())]):
        (directory / "__init__.py").write_text("")
    (target / "py.typed").write_text("")
    return target


def tree_differences(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on either side or unequal)."""

    def files(root: Path) -> set[str]:
        if not root.exists():
            return set()
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += sorted(r for r in fa & fb if not filecmp.cmp(a / r, b / r, shallow=False))
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output root; <out>/convhub is replaced (default: libs/genproto/src)",
    )
    parser.add_argument(
        "--protos", type=Path, default=DEFAULT_PROTOS, help="proto root (default: protos)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="generate into a temporary directory and compare with --out instead of writing",
    )
    ns = parser.parse_args(argv)
    protos, out = ns.protos.resolve(), ns.out.resolve()

    if ns.check:
        with tempfile.TemporaryDirectory(prefix="convhub-genproto-") as tmp:
            fresh = generate(protos, Path(tmp))
            diff = tree_differences(fresh, out / ROOT_PACKAGE)
        if diff:
            print("generated code is stale; run `make protos`. Differences:", file=sys.stderr)
            for rel in diff:
                print(f"  {ROOT_PACKAGE}/{rel}", file=sys.stderr)
            return 1
        print("generated code is up to date")
        return 0

    target = generate(protos, out)
    print(f"generated {len(proto_files(protos))} proto files into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
