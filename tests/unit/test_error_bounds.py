"""However much an error names, its status stays well within a client's 8 KiB metadata limit."""

from __future__ import annotations

import urllib.parse

from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]  # googleapis-common-protos has no py.typed

from dualdraw.domain.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument
from dualdraw.entrypoints.grpc.errors import rich_status

LIMIT = 6 * 1024 + 512  # what the status may take on the wire: grpc-message plus grpc-status-details-bin


def _wire_bytes(error: DomainError) -> tuple[int, status_pb2.Status]:
    status = rich_status(error, "r-1")
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    message = urllib.parse.quote(status.details, safe="")  # grpc percent-encodes non-ASCII
    proto = status_pb2.Status.FromString(details)
    return len(message) + len(details) * 4 // 3 + 4, proto


def _info(proto: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    info = error_details_pb2.ErrorInfo()
    assert proto.details[0].Unpack(info)
    return info


def test_a_small_error_is_unchanged() -> None:
    _size, proto = _wire_bytes(FailedPrecondition("too few", reason="X", metadata={"objects": "a,b"}))
    assert proto.message == "too few"
    assert dict(_info(proto).metadata) == {"objects": "a,b"}


def test_a_list_of_thousands_keeps_its_first_items_and_their_count() -> None:
    codes = [f"91330100{n:010d}" for n in range(5000)]
    error = FailedPrecondition(
        "objects: " + ", ".join(f"{c} (1 left)" for c in codes),
        reason="CONFLICTS_LEAVE_TOO_FEW",
        metadata={"objects": ",".join(codes), "note": "检查" * 1000, **{f"k{n}": "v" for n in range(30)}},
    )
    size, proto = _wire_bytes(error)
    assert size < LIMIT
    metadata = dict(_info(proto).metadata)
    shown = metadata["objects"].split(",")
    assert shown == codes[: len(shown)]
    assert len(shown) == int(metadata["objects_shown"]) >= 5
    assert metadata["objects_count"] == "5000"
    assert metadata["details_truncated"] == "true"
    assert metadata["request_id"] == "r-1"
    assert proto.message.startswith("objects: 91330100")
    assert proto.message.endswith("…")
    assert metadata["note"].endswith("…")


def test_twenty_ordinary_field_violations_are_all_listed() -> None:
    error = InvalidArgument(
        [
            FieldViolation(
                f"objects[{n}].credit_code", "not a valid credit code", reason="CREDIT_CODE_FORMAT"
            )
            for n in range(20)
        ]
    )
    _size, proto = _wire_bytes(error)
    bad = error_details_pb2.BadRequest()
    assert proto.details[1].Unpack(bad)
    assert [v.field for v in bad.field_violations] == [f"objects[{n}].credit_code" for n in range(20)]
    assert "field_violations_count" not in dict(_info(proto).metadata)


def test_field_violations_are_bounded_in_number_and_length() -> None:
    error = InvalidArgument(
        [
            FieldViolation(f"objects[{n}].name" * 20, "名称" * 500, reason="VALUE_TOO_LONG")
            for n in range(1000)
        ]
    )
    size, proto = _wire_bytes(error)
    assert size < LIMIT
    bad = error_details_pb2.BadRequest()
    assert proto.details[1].Unpack(bad)
    assert 3 <= len(bad.field_violations) < 1000
    assert bad.field_violations[0].field.startswith("objects[0].name")
    assert dict(_info(proto).metadata)["field_violations_count"] == "1000"
