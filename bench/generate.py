"""Realistic synthetic directories for benchmarks: Hebei cities and districts, valid credit codes, side facts.

Deterministic (SHA-256 of a counter, never ``random``): the same size gives the same directory. Shares
of the benchmark: 2 % of objects with an open complaint, 5 campaigns, 1 % risk-unsuitable, 3 % statutory
designations; risk classes A-D; inspectors with specialities (a few expired) in the task department.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from dualdraw.domain.credit_code import ALPHABET, make_credit_code
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentLevel,
    InspectionItem,
    InspectionObject,
    Inspector,
    ItemKind,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    Speciality,
    StatutoryDesignation,
)

T = TypeVar("T")
AS_OF = dt.date(2026, 12, 1)
LINE = "special_equipment"
PROVINCE = "130000-SJ"
ITEM = InspectionItem(
    code="BENCH-SE",
    name="特种设备使用单位监督检查（基准）",
    legal_basis="《中华人民共和国特种设备安全法》第五十七条",
    business_line=LINE,
    target_scope="特种设备使用单位",
    required_speciality=LINE,
    kind=ItemKind.GENERAL,
    default_ratio=Fraction(1, 20),
    department_id=PROVINCE,
)
CITIES = ["130100", "130200", "130300", "130400", "130500", "130600", "130700", "130800", "130900", "131000"]
DISTRICTS_PER_CITY = 4
INDUSTRIES = ["C31", "C33", "C34", "C38", "C14", "C26", "C30", "D44", "F52", "H61", "K70", "G54"]
LINES = [LINE, "product_quality", "metrology"]
ORG_ALPHABET = ALPHABET.replace("Y", "")  # any 8 characters of the code alphabet make an org-code body


class Dice:
    """Deterministic pseudo-random choices from SHA-256 of ``label/counter``."""

    def __init__(self, label: str) -> None:
        self._label = label.encode()
        self._counter = 0
        self._pool = b""

    def below(self, n: int) -> int:
        if len(self._pool) < 4:
            self._pool = hashlib.sha256(self._label + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        value, self._pool = int.from_bytes(self._pool[:4], "big"), self._pool[4:]
        return value % n

    def choice(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]


@dataclass(frozen=True)
class Directory:
    departments: list[Department]
    objects: list[InspectionObject]
    inspectors: list[Inspector]
    complaints: list[Complaint]
    campaigns: list[Campaign]
    risk_assessments: list[RiskAssessment]
    statutory_designations: list[StatutoryDesignation]


def departments() -> list[Department]:
    result = [Department(PROVINCE, "河北省市场监督管理局", None, DepartmentLevel.PROVINCE, "130000")]
    for city in CITIES:
        city_id = f"{city}-SJ"
        result.append(Department(city_id, f"市局 {city}", PROVINCE, DepartmentLevel.CITY, city))
        for d in range(DISTRICTS_PER_CITY):
            region = f"{city[:4]}{d + 2:02d}"
            result.append(
                Department(f"{region}-FJ", f"分局 {region}", city_id, DepartmentLevel.DISTRICT, region)
            )
    return result


def _org_body(n: int) -> str:
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(ORG_ALPHABET))
        chars.append(ORG_ALPHABET[r])
    return "".join(reversed(chars))


def objects(count: int, districts: Sequence[Department]) -> Iterator[InspectionObject]:
    dice = Dice("objects")
    risk = [RiskClass.A] * 50 + [RiskClass.B] * 30 + [RiskClass.C] * 15 + [RiskClass.D] * 5
    for n in range(count):
        district = districts[n % len(districts)]
        industry = dice.choice(INDUSTRIES)
        lines = (LINES[dice.below(3)],) if dice.below(4) else tuple(LINES)
        yield InspectionObject(
            credit_code=make_credit_code("9", "1", district.region_code, _org_body(n * 7919 + 13)),
            name=f"基准企业{n:07d}有限公司",
            region_code=district.region_code,
            registering_department_id=district.id,
            industry=industry,
            business_lines=tuple(sorted(set(lines) | {LINE})) if dice.below(2) else lines,
            risk_class=dice.choice(risk),
            status=ObjectStatus.ACTIVE if dice.below(50) else ObjectStatus.SUSPENDED,
            office=f"{district.region_code}-所{dice.below(3)}",
        )


def directory(count: int, inspectors: int) -> Directory:
    """A directory of ``count`` objects and ``inspectors`` inspectors of the province department."""
    depts = departments()
    districts = [d for d in depts if d.level is DepartmentLevel.DISTRICT]
    objs = list(objects(count, districts))
    dice = Dice("facts")
    complaints = [
        Complaint(
            f"C{n:07d}", o.credit_code, ComplaintStatus.HANDLING, AS_OF - dt.timedelta(days=dice.below(60))
        )
        for n, o in enumerate(objs[7::50])
    ]
    assessments = [
        RiskAssessment(
            f"R{n:07d}", o.credit_code, RiskConclusion.UNSUITABLE, dt.date(2026, 6, 1), dt.date(2027, 6, 1)
        )
        for n, o in enumerate(objs[11::100])
    ]
    designations = [
        StatutoryDesignation(
            f"S{n:07d}", o.credit_code, LINE, "periodic_inspection", "TSG 08", dt.date(2025, 1, 1)
        )
        for n, o in enumerate(objs[3::33])
    ]
    campaigns = [
        Campaign(
            f"K{n}",
            f"专项检查 {n}",
            PROVINCE,
            f"{CITIES[n * 2]}",
            INDUSTRIES[n],
            "",
            dt.date(2026, 11, 1),
            dt.date(2026, 12, 31),
        )
        for n in range(5)
    ]
    staff = [
        Inspector(
            badge_number=f"HB-{n:05d}",
            name=f"检查员{n:05d}",
            department_id=PROVINCE,
            office=f"处室{n % 7}",
            specialities=(Speciality(LINE, dt.date(2025, 1, 1) if n % 50 == 0 else dt.date(2028, 1, 1)),),
            conflicts=frozenset({objs[(n * 97) % len(objs)].credit_code})
            if n % 10 == 0 and objs
            else frozenset(),
        )
        for n in range(inspectors)
    ]
    return Directory(depts, objs, staff, complaints, campaigns, assessments, designations)


DirectoryEntry = (
    Department | InspectionObject | Inspector | Complaint | Campaign | RiskAssessment | StatutoryDesignation
)


def _code(n: int, districts: Sequence[Department]) -> str:
    """The credit code of object ``n`` (as ``objects`` makes it), without making the object."""
    return make_credit_code("9", "1", districts[n % len(districts)].region_code, _org_body(n * 7919 + 13))


def directory_entries(count: int, inspectors: int) -> Iterator[DirectoryEntry]:
    """The entries of ``directory(count, inspectors)``, equal and in the same order (departments, objects,
    inspectors, complaints, campaigns, risk assessments, designations), made one at a time: at 10M objects
    the lists would be gigabytes, so each side fact re-derives its object's code from its number."""
    depts = departments()
    districts = [d for d in depts if d.level is DepartmentLevel.DISTRICT]
    yield from depts
    yield from objects(count, districts)
    for n in range(inspectors):
        yield Inspector(
            badge_number=f"HB-{n:05d}",
            name=f"检查员{n:05d}",
            department_id=PROVINCE,
            office=f"处室{n % 7}",
            specialities=(Speciality(LINE, dt.date(2025, 1, 1) if n % 50 == 0 else dt.date(2028, 1, 1)),),
            conflicts=frozenset({_code((n * 97) % count, districts)})
            if n % 10 == 0 and count
            else frozenset(),
        )
    dice = Dice("facts")
    for k, n in enumerate(range(7, count, 50)):
        days = dt.timedelta(days=dice.below(60))
        yield Complaint(f"C{k:07d}", _code(n, districts), ComplaintStatus.HANDLING, AS_OF - days)
    for n in range(5):
        yield Campaign(
            f"K{n}",
            f"专项检查 {n}",
            PROVINCE,
            f"{CITIES[n * 2]}",
            INDUSTRIES[n],
            "",
            dt.date(2026, 11, 1),
            dt.date(2026, 12, 31),
        )
    for k, n in enumerate(range(11, count, 100)):
        yield RiskAssessment(
            f"R{k:07d}",
            _code(n, districts),
            RiskConclusion.UNSUITABLE,
            dt.date(2026, 6, 1),
            dt.date(2027, 6, 1),
        )
    for k, n in enumerate(range(3, count, 33)):
        yield StatutoryDesignation(
            f"S{k:07d}", _code(n, districts), LINE, "periodic_inspection", "TSG 08", dt.date(2025, 1, 1)
        )
