"""A province of many district branches, each with its own objects and inspectors: the directory of the
district load benchmark (``bench/district_load.py``).

Deterministic like ``bench/generate.py`` (whose objects, credit codes and side-fact shares it reuses): the
province department, the ten Hebei cities of the bench, ``districts`` district branches spread evenly over
them, ``objects_per_district`` objects registered by each branch, and ``inspectors_per_district``
special-equipment inspectors in each branch (2 % with an expired certificate, 10 % with a declared conflict
with an object of their branch), so every district task draws its teams from its own staff.
"""

from __future__ import annotations

import datetime as dt

from bench.generate import (
    AS_OF,
    CITIES,
    INDUSTRIES,
    LINE,
    PROVINCE,
    Dice,
    Directory,
    objects,
)
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentLevel,
    InspectionObject,
    Inspector,
    RiskAssessment,
    RiskConclusion,
    Speciality,
    StatutoryDesignation,
)

MAX_DISTRICTS = len(CITIES) * 99
"""Two digits of district number under each city's four-digit region prefix."""


def district_departments(districts: int) -> list[Department]:
    """The province, its cities and ``districts`` district branches, filled city by city."""
    if not 1 <= districts <= MAX_DISTRICTS:
        raise ValueError(f"districts must be between 1 and {MAX_DISTRICTS}")
    per_city = -(-districts // len(CITIES))
    result = [Department(PROVINCE, "河北省市场监督管理局", None, DepartmentLevel.PROVINCE, "130000")]
    for n, city in enumerate(CITIES):
        count = min(per_city, districts - n * per_city)
        if count <= 0:
            break
        city_id = f"{city}-SJ"
        result.append(Department(city_id, f"市局 {city}", PROVINCE, DepartmentLevel.CITY, city))
        for d in range(count):
            region = f"{city[:4]}{d + 1:02d}"
            result.append(
                Department(f"{region}-FJ", f"分局 {region}", city_id, DepartmentLevel.DISTRICT, region)
            )
    return result


def district_inspectors(
    district: Department, count: int, own_objects: list[InspectionObject]
) -> list[Inspector]:
    return [
        Inspector(
            badge_number=f"HB-{district.region_code}-{n:03d}",
            name=f"检查员{district.region_code}{n:03d}",
            department_id=district.id,
            office=f"{district.region_code}-所{n % 3}",
            specialities=(Speciality(LINE, dt.date(2025, 1, 1) if n % 50 == 49 else dt.date(2028, 1, 1)),),
            conflicts=frozenset({own_objects[(n * 97) % len(own_objects)].credit_code})
            if n % 10 == 0 and own_objects
            else frozenset(),
        )
        for n in range(count)
    ]


def district_directory(districts: int, objects_per_district: int, inspectors_per_district: int) -> Directory:
    """The province with ``districts`` branches of ``objects_per_district`` objects and
        ``inspectors_per_district`` inspectors each, and the bench's side facts at ``bench.generate``'s shares
    (2 % open complaints, 1 % risk-unsuitable, 3 % statutory designations, drawn per object; 5 campaigns)."""
    depts = district_departments(districts)
    branches = [d for d in depts if d.level is DepartmentLevel.DISTRICT]
    objs = list(objects(districts * objects_per_district, branches))
    by_branch: dict[str, list[InspectionObject]] = {b.id: [] for b in branches}
    for o in objs:
        by_branch[o.registering_department_id].append(o)
    staff = [
        inspector
        for b in branches
        for inspector in district_inspectors(b, inspectors_per_district, by_branch[b.id])
    ]
    dice = Dice("district facts")  # shares drawn per object: a stride would fall on the same branches
    complaints: list[Complaint] = []
    assessments: list[RiskAssessment] = []
    designations: list[StatutoryDesignation] = []
    for o in objs:
        if dice.below(50) == 0:
            complaints.append(
                Complaint(
                    f"C{len(complaints):07d}",
                    o.credit_code,
                    ComplaintStatus.HANDLING,
                    AS_OF - dt.timedelta(days=dice.below(60)),
                )
            )
        if dice.below(100) == 0:
            assessments.append(
                RiskAssessment(
                    f"R{len(assessments):07d}",
                    o.credit_code,
                    RiskConclusion.UNSUITABLE,
                    dt.date(2026, 6, 1),
                    dt.date(2027, 6, 1),
                )
            )
        if dice.below(33) == 0:
            designations.append(
                StatutoryDesignation(
                    f"S{len(designations):07d}",
                    o.credit_code,
                    LINE,
                    "periodic_inspection",
                    "TSG 08",
                    dt.date(2025, 1, 1),
                )
            )
    campaigns = [
        Campaign(
            f"K{n}",
            f"专项检查 {n}",
            PROVINCE,
            CITIES[n * 2],
            INDUSTRIES[n],
            "",
            dt.date(2026, 11, 1),
            dt.date(2026, 12, 31),
        )
        for n in range(5)
    ]
    return Directory(depts, objs, staff, complaints, campaigns, assessments, designations)
