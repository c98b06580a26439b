"""The committed gRPC modules are exactly what protoc generates from protos/ (no hand edits, no drift)."""

import importlib.util
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).resolve().parents[2] / "clients" / "python" / "generate_stubs.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_stubs", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_grpc_modules_gives_no_diff() -> None:
    assert load_generator().main(["--check"]) == 0


def test_the_grpc_modules_live_in_the_client_distribution() -> None:
    generator = load_generator()
    package_dir = generator.PACKAGE_DIR
    assert package_dir == GENERATOR.parent / "dualdraw" / "v1"
    assert sorted(p.name for p in generator.PACKAGE_DIR.glob("draws_pb2*")) == [
        "draws_pb2.py",
        "draws_pb2.pyi",
        "draws_pb2_grpc.py",
        "draws_pb2_grpc.pyi",
    ]


def test_every_proto_lives_in_the_dualdraw_v1_package() -> None:
    proto_root = load_generator().PROTO_ROOT
    protos = sorted(proto_root.rglob("*.proto"))
    assert protos, "no protos found"
    for path in protos:
        assert path.parent == proto_root / "dualdraw" / "v1"
        assert "package dualdraw.v1;" in path.read_text(encoding="utf-8")
