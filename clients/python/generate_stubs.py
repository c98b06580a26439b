"""Regenerates the committed gRPC modules of ``dualdraw.v1`` (clients/python/dualdraw/v1) from protos/.

``python clients/python/generate_stubs.py`` writes them; ``--check`` compares instead and fails on a diff.
Needs the dev tools (grpcio-tools, mypy-protobuf); not part of the ``dualdraw-client`` distribution.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "protos"
GOOGLE_PROTOS = ROOT / "third_party" / "googleapis"  # google.type and google.api, imported by the protos
OUT_ROOT = ROOT / "clients" / "python"
PACKAGE_DIR = OUT_ROOT / "dualdraw" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out_root: Path) -> list[Path]:
    """Runs protoc (from grpcio-tools) over every proto; returns the generated files under ``out_root``."""
    import grpc_tools
    from grpc_tools import protoc  # dev dependency: imported only when regenerating

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent  # mypy-protobuf installs its plugins beside the interpreter
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{GOOGLE_PROTOS}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    package = out_root / "dualdraw" / "v1"
    return sorted(p for p in package.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.check:
        for old in PACKAGE_DIR.iterdir():
            if old.name.endswith(GENERATED_SUFFIXES):
                old.unlink()
        for path in generate(OUT_ROOT):
            print(f"generated {path.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p for p in generate(Path(tmp))}
        committed = {p.name: p for p in PACKAGE_DIR.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}
        problems = [f"missing: {n}" for n in sorted(fresh.keys() - committed.keys())]
        problems += [f"stale: {n}" for n in sorted(committed.keys() - fresh.keys())]
        problems += [
            f"differs: {n}"
            for n in sorted(fresh.keys() & committed.keys())
            if not filecmp.cmp(fresh[n], committed[n], shallow=False)
        ]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("run `make protos` and commit the result", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
