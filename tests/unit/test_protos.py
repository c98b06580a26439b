"""The committed gRPC modules are exactly what protoc generates from protos/ (no hand edits, no drift)."""

from dualdraw import protogen


def test_regenerating_the_grpc_modules_gives_no_diff() -> None:
    assert protogen.main(["--check"]) == 0


def test_every_proto_lives_in_the_dualdraw_v1_package() -> None:
    protos = sorted(protogen.PROTO_ROOT.rglob("*.proto"))
    assert protos, "no protos found"
    for path in protos:
        assert path.parent == protogen.PROTO_ROOT / "dualdraw" / "v1"
        assert "package dualdraw.v1;" in path.read_text(encoding="utf-8")
