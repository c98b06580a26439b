"""The proto enums of closed lists and the domain's lists agree value for value: neither can grow alone."""

from __future__ import annotations

from google.protobuf.descriptor import EnumDescriptor

from dualdraw.domain.draw.substitution import REASONS as SUBSTITUTION_REASONS
from dualdraw.domain.exclusions.schema import FactKind
from dualdraw.entrypoints.grpc.rules_servicer import FACT_KIND_PB
from dualdraw.entrypoints.grpc.verification_servicers import (
    ABANDON_REASON_PREFIX,
    BUNDLE_FORMAT_PB,
    BUNDLE_VARIANT_PB,
    ENTROPY_KIND,
    SUBSTITUTION_REASON_PREFIX,
    reason_code,
    substitution_reason_pb,
)
from dualdraw.service_layer import bundles
from dualdraw.service_layer.draw_abandon import ABANDON_REASONS
from dualdraw.v1 import draws_pb2, rules_pb2, verification_pb2

ABANDON = draws_pb2.AbandonReason.DESCRIPTOR
SUBSTITUTION = verification_pb2.SubstitutionReason.DESCRIPTOR


def named(enum: EnumDescriptor, prefix: str) -> list[str]:
    return [v.name.removeprefix(prefix) for v in enum.values if v.number]


def test_reason_enums_list_exactly_the_domain_codes() -> None:
    assert named(ABANDON, ABANDON_REASON_PREFIX) == list(ABANDON_REASONS)
    assert named(SUBSTITUTION, SUBSTITUTION_REASON_PREFIX) == list(SUBSTITUTION_REASONS)
    assert [reason_code(ABANDON, v.number, ABANDON_REASON_PREFIX) for v in ABANDON.values[1:]] == list(
        ABANDON_REASONS
    )
    assert [substitution_reason_pb(code) for code in SUBSTITUTION_REASONS] == [
        v.number for v in SUBSTITUTION.values[1:]
    ]


def test_unspecified_and_unknown_reasons_reach_the_use_case_as_codes_it_refuses() -> None:
    assert reason_code(ABANDON, 0, ABANDON_REASON_PREFIX) == ""
    assert reason_code(ABANDON, 99, ABANDON_REASON_PREFIX) == "99"
    assert "" not in ABANDON_REASONS
    assert "99" not in ABANDON_REASONS


def test_every_fact_kind_bundle_variant_format_and_entropy_kind_has_its_enum_value() -> None:
    assert set(FACT_KIND_PB) == set(FactKind)
    assert sorted(FACT_KIND_PB.values()) == [v.number for v in rules_pb2.FactKind.DESCRIPTOR.values[1:]]
    assert set(BUNDLE_VARIANT_PB) == {bundles.FULL, bundles.PUBLIC}
    assert set(BUNDLE_FORMAT_PB) == {*bundles.FORMATS, *bundles.PLAN_FORMATS.values()}
    assert set(ENTROPY_KIND) == {v.number for v in verification_pb2.EntropySourceKind.DESCRIPTOR.values}
    assert set(ENTROPY_KIND.values()) == {"local-secret", "beacon", "commit-reveal"}
