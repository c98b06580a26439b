"""Domain records → durable_rules facts (plain dicts), normalised to the types of ``schema.ATTRIBUTES``.

durable_rules compares loosely (``true`` matched ``1``; ``$gte`` matched a numeric string, ``$lt`` did not),
so every value is normalised first: dates become ``int`` ``YYYYMMDD``; a missing end date (``closed_on``,
``valid_until``, ``valid_to``) becomes 99991231, later than any date (``schema.OPEN_UPPER_DATE``; no
attribute has an open start, which would be 0); enumerations become their string value; no booleans.

Every fact carries ``fact`` (its kind) and ``id`` (a natural id: a one-letter kind prefix and the domain key,
re-keyed by the engine worker only if its durable hash collides); side facts carry ``ref``, the domain id
reported as evidence. Object facts may carry the region codes a campaign is matched against:
``region_province``/``region_city``/``region_district`` (``130000``/``130200``/``130203``). Only the
attributes named in ``attrs`` (by default all) are included: ``compiler.attributes_read`` names those a
rule set needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from dualdraw.domain.exclusions.compiler import KIND_KEY, encode_date
from dualdraw.domain.exclusions.schema import ATTRIBUTES, OPEN_UPPER_DATE, FactKind
from dualdraw.domain.model import Campaign, Complaint, ObjectAttributes, RiskAssessment, StatutoryDesignation

Fact = dict[str, object]


def region_prefixes(region_code: str) -> tuple[str, str, str]:
    """Province, city and district codes (six digits, zero-padded) of a GB/T 2260 region code."""
    code = region_code.ljust(6, "0")
    return code[:2] + "0000", code[:4] + "00", code[:6]


def _until(day: dt.date | None) -> int:
    return OPEN_UPPER_DATE if day is None else encode_date(day)


_OBJECT: dict[str, Callable[[ObjectAttributes], object]] = {
    "credit_code": lambda o: o.credit_code,
    "status": lambda o: o.status.value,
    "risk_class": lambda o: o.risk_class.value,
    "industry": lambda o: o.industry,
    "region_code": lambda o: o.region_code,
    "region_province": lambda o: region_prefixes(o.region_code)[0],
    "region_city": lambda o: region_prefixes(o.region_code)[1],
    "region_district": lambda o: region_prefixes(o.region_code)[2],
    "registering_department_id": lambda o: o.registering_department_id,
    "business_lines": lambda o: list(o.business_lines),
    "office": lambda o: o.office,
}
OBJECT_SOURCE = {
    "region_province": "region_code",
    "region_city": "region_code",
    "region_district": "region_code",
}
"""The object attribute each derived object attribute is computed from (others: the same name)."""
_COMPLAINT: dict[str, Callable[[Complaint], object]] = {
    "credit_code": lambda c: c.credit_code,
    "status": lambda c: c.status.value,
    "received_on": lambda c: encode_date(c.received_on),
    "closed_on": lambda c: _until(c.closed_on),
}
_CAMPAIGN: dict[str, Callable[[Campaign], object]] = {
    "region_code": lambda c: c.region_code.ljust(6, "0"),
    "industry": lambda c: c.industry,
    "business_line": lambda c: c.business_line,
    "starts_on": lambda c: encode_date(c.starts_on),
    "ends_on": lambda c: encode_date(c.ends_on),
}
_RISK_ASSESSMENT: dict[str, Callable[[RiskAssessment], object]] = {
    "credit_code": lambda r: r.credit_code,
    "conclusion": lambda r: r.conclusion.value,
    "assessed_on": lambda r: encode_date(r.assessed_on),
    "valid_until": lambda r: _until(r.valid_until),
}
_STATUTORY_DESIGNATION: dict[str, Callable[[StatutoryDesignation], object]] = {
    "credit_code": lambda d: d.credit_code,
    "business_line": lambda d: d.business_line,
    "method": lambda d: d.method,
    "valid_from": lambda d: encode_date(d.valid_from),
    "valid_to": lambda d: _until(d.valid_to),
}


def object_fact(obj: ObjectAttributes, attrs: Iterable[str] = tuple(_OBJECT)) -> Fact:
    fact: Fact = {"id": "o" + obj.credit_code, KIND_KEY: FactKind.OBJECT.value}
    for name in attrs:
        fact[name] = _OBJECT[name](obj)
    return fact


def complaint_fact(complaint: Complaint, attrs: Iterable[str] = tuple(_COMPLAINT)) -> Fact:
    fact: Fact = {"id": "c" + complaint.id, KIND_KEY: FactKind.COMPLAINT.value, "ref": complaint.id}
    for name in attrs:
        fact[name] = _COMPLAINT[name](complaint)
    return fact


def campaign_fact(
    campaign: Campaign, organizer_level: int, attrs: Iterable[str] = (*_CAMPAIGN, "organizer_level")
) -> Fact:
    """A campaign with its organiser's department level (1 province, 2 city, 3 district)."""
    fact: Fact = {"id": "k" + campaign.id, KIND_KEY: FactKind.CAMPAIGN.value, "ref": campaign.id}
    for name in attrs:
        fact[name] = int(organizer_level) if name == "organizer_level" else _CAMPAIGN[name](campaign)
    return fact


def risk_assessment_fact(assessment: RiskAssessment, attrs: Iterable[str] = tuple(_RISK_ASSESSMENT)) -> Fact:
    fact: Fact = {"id": "r" + assessment.id, KIND_KEY: FactKind.RISK_ASSESSMENT.value, "ref": assessment.id}
    for name in attrs:
        fact[name] = _RISK_ASSESSMENT[name](assessment)
    return fact


def statutory_designation_fact(
    designation: StatutoryDesignation, attrs: Iterable[str] = tuple(_STATUTORY_DESIGNATION)
) -> Fact:
    fact: Fact = {
        "id": "d" + designation.id,
        KIND_KEY: FactKind.STATUTORY_DESIGNATION.value,
        "ref": designation.id,
    }
    for name in attrs:
        fact[name] = _STATUTORY_DESIGNATION[name](designation)
    return fact


def _check_coverage() -> None:
    """Every attribute a rule may test has an extractor (kept honest at import)."""
    tables: dict[FactKind, Iterable[str]] = {
        FactKind.OBJECT: _OBJECT,
        FactKind.COMPLAINT: _COMPLAINT,
        FactKind.CAMPAIGN: (*_CAMPAIGN, "organizer_level"),
        FactKind.RISK_ASSESSMENT: _RISK_ASSESSMENT,
        FactKind.STATUTORY_DESIGNATION: _STATUTORY_DESIGNATION,
    }
    for kind, names in tables.items():
        missing = ATTRIBUTES[kind].keys() - set(names)
        if missing:
            raise RuntimeError(f"no fact extractor for {kind.value} attributes {sorted(missing)}")


_check_coverage()
