"""A deterministic demo directory: Hebei province → Tangshan city → three district branches, with ~300
objects, ~30 inspectors, side facts for each Art. 16 exclusion category, three inspection items and a task.

Every pseudo-random choice comes from SHA-256 of a counter (``_Dice``), so the directory is the same on every
machine and every run. Names, codes and legal references are realistic in form but invented.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from dualdraw.domain.checklists import Checklist, CheckMethod, CheckPoint
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
    TaskScope,
)

T = TypeVar("T")

SPECIAL_EQUIPMENT = "special_equipment"
PRODUCT_QUALITY = "product_quality"
METROLOGY = "metrology"
BUSINESS_LINES = (SPECIAL_EQUIPMENT, PRODUCT_QUALITY, METROLOGY)

PROVINCE = "130000-SJ"
CITY = "130200-SJ"
LUNAN = "130202-LN"
LUBEI = "130203-LB"
HIGH_TECH_ZONE = "130273-GXQ"

DEMO_AS_OF = dt.date(2026, 12, 1)
"""The day the demo's dates are arranged around: the 2026 campaign is running, some certificates expired."""


@dataclass(frozen=True)
class DemoTask:
    """A task that makes sense to create and draw against the demo directory."""

    item_code: str
    department_id: str
    ratio: str
    team_size: int
    title: str
    scope: TaskScope = field(default_factory=TaskScope)


@dataclass(frozen=True)
class DemoDirectory:
    """Records to load into an empty directory, in dependency order (departments first)."""

    departments: list[Department]
    objects: list[InspectionObject]
    inspectors: list[Inspector]
    complaints: list[Complaint]
    campaigns: list[Campaign]
    risk_assessments: list[RiskAssessment]
    statutory_designations: list[StatutoryDesignation]
    items: list[InspectionItem]
    suggested_task: DemoTask
    as_of: dt.date = DEMO_AS_OF


class _Dice:
    """Deterministic choices: SHA-256 of ``dualdraw-demo/<counter>``, the counter rising with every throw."""

    def __init__(self) -> None:
        self._counter = 0

    def below(self, n: int) -> int:
        digest = hashlib.sha256(f"dualdraw-demo/{self._counter}".encode("ascii")).digest()
        self._counter += 1
        return int.from_bytes(digest[:8], "big") % n

    def choice(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def weighted(self, options: Sequence[tuple[T, int]]) -> T:
        roll = self.below(sum(w for _, w in options))
        for option, weight in options:
            if roll < weight:
                return option
            roll -= weight
        raise AssertionError("unreachable")


_DEPARTMENTS = [
    Department(PROVINCE, "河北省市场监督管理局", None, DepartmentLevel.PROVINCE, "130000"),
    Department(CITY, "唐山市市场监督管理局", PROVINCE, DepartmentLevel.CITY, "130200"),
    Department(LUNAN, "唐山市市场监督管理局路南区分局", CITY, DepartmentLevel.DISTRICT, "130202"),
    Department(LUBEI, "唐山市市场监督管理局路北区分局", CITY, DepartmentLevel.DISTRICT, "130203"),
    Department(
        HIGH_TECH_ZONE, "唐山市市场监督管理局高新技术产业开发区分局", CITY, DepartmentLevel.DISTRICT, "130273"
    ),
]

# (department, region, short name, offices, number of objects registered there)
_DISTRICTS = [
    (LUNAN, "130202", "路南区", ("学院南路市场监管所", "友谊里市场监管所"), 110),
    (LUBEI, "130203", "路北区", ("文化路市场监管所", "龙东市场监管所"), 110),
    (HIGH_TECH_ZONE, "130273", "高新区", ("龙泽市场监管所", "卫国路市场监管所"), 80),
]

# GB/T 4754 industry, the word in company names, the business lines such firms are supervised under
_INDUSTRIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("C31", "钢铁", (SPECIAL_EQUIPMENT, PRODUCT_QUALITY, METROLOGY)),
    ("C33", "金属制品", (PRODUCT_QUALITY, SPECIAL_EQUIPMENT)),
    ("C34", "机械制造", (SPECIAL_EQUIPMENT, PRODUCT_QUALITY)),
    ("C38", "电气设备", (PRODUCT_QUALITY, METROLOGY)),
    ("C14", "食品", (PRODUCT_QUALITY, METROLOGY)),
    ("C26", "化工", (SPECIAL_EQUIPMENT, PRODUCT_QUALITY)),
    ("C30", "建材", (PRODUCT_QUALITY,)),
    ("D44", "热力", (SPECIAL_EQUIPMENT, METROLOGY)),
    ("F52", "商贸", (METROLOGY, PRODUCT_QUALITY)),
    ("H61", "酒店管理", (SPECIAL_EQUIPMENT,)),
    ("K70", "物业服务", (SPECIAL_EQUIPMENT,)),
    ("G54", "物流", (SPECIAL_EQUIPMENT, METROLOGY)),
]

_STATUS_WEIGHTS = [(ObjectStatus.ACTIVE, 47), (ObjectStatus.SUSPENDED, 2), (ObjectStatus.DEREGISTERED, 1)]
_TRADE_NAME_CHARS = "鑫华宏泰盛达恒源丰瑞冀港凯新远利联安德金东海祥博润通"
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"


def _objects(dice: _Dice) -> list[InspectionObject]:
    objects: list[InspectionObject] = []
    codes: set[str] = set()
    names: set[str] = set()
    for department_id, region, district, offices, count in _DISTRICTS:
        for _ in range(count):
            industry, word, lines = dice.choice(_INDUSTRIES)
            individual = dice.below(10) == 0
            while True:
                org8 = "MA" + "".join(dice.choice(ALPHABET) for _ in range(6))
                code = make_credit_code("9", "2" if individual else "1", region, org8)
                trade = dice.choice(_TRADE_NAME_CHARS) + dice.choice(_TRADE_NAME_CHARS)
                if individual:
                    name = f"唐山市{district}{trade}{word}经营部"
                else:
                    suffix = dice.weighted([("有限公司", 8), ("股份有限公司", 1), ("集团有限公司", 1)])
                    name = f"唐山{trade}{word}{suffix}"
                if code not in codes and name not in names:
                    break
            codes.add(code)
            names.add(name)
            business = tuple(line for n, line in enumerate(lines) if n == 0 or dice.below(2) == 0)
            objects.append(
                InspectionObject(
                    credit_code=code,
                    name=name,
                    region_code=region,
                    # "whoever registers, supervises": the city bureau registered some larger firms itself
                    registering_department_id=CITY if dice.below(10) == 0 else department_id,
                    industry=industry,
                    business_lines=business,
                    risk_class=dice.weighted(
                        [(RiskClass.A, 40), (RiskClass.B, 35), (RiskClass.C, 18), (RiskClass.D, 7)]
                    ),
                    status=dice.weighted(_STATUS_WEIGHTS),
                    office=dice.choice(offices),
                )
            )
    return objects


def _person_name(dice: _Dice, taken: set[str]) -> str:
    while True:
        second: str = dice.choice(["", *_GIVEN_NAMES])
        name = dice.choice(_SURNAMES) + dice.choice(_GIVEN_NAMES) + second
        if name not in taken:
            taken.add(name)
            return name


def _inspectors(dice: _Dice, objects: list[InspectionObject]) -> list[Inspector]:
    """Per department, specialities rotate over the lines; number 4 has a lapsed certificate and number 8
    is on leave, so filtering has something to do; numbers 1 and 5 declared conflicts with local objects."""
    staffing = [
        (CITY, "SJ", ("市局特种设备安全监察处", "市局质量监督处"), 4),
        (LUNAN, "LN", _DISTRICTS[0][3], 8),
        (LUBEI, "LB", _DISTRICTS[1][3], 8),
        (HIGH_TECH_ZONE, "GXQ", _DISTRICTS[2][3], 10),
    ]
    names: set[str] = set()
    inspectors: list[Inspector] = []
    for department_id, short, offices, count in staffing:
        for k in range(count):
            primary = BUSINESS_LINES[k % 3]
            codes = [primary] if k % 2 else [primary, BUSINESS_LINES[(k + 1) % 3]]
            expires = [dt.date(2028, 6, 30), dt.date(2029, 12, 31), None]
            specialities = tuple(
                Speciality(code, dt.date(2026, 6, 30) if k == 3 and n == 0 else dice.choice(expires))
                for n, code in enumerate(codes)
            )
            conflicts: frozenset[str] = frozenset()
            if k in (0, 4):  # declared conflicts with local objects of the inspector's own line
                local = [
                    o.credit_code
                    for o in objects
                    if o.registering_department_id == department_id and primary in o.business_lines
                ]
                conflicts = frozenset(dice.choice(local) for _ in range(1 + dice.below(2)))
            inspectors.append(
                Inspector(
                    badge_number=f"TS-{short}-{k + 1:03d}",
                    name=_person_name(dice, names),
                    department_id=department_id,
                    office=offices[k % len(offices)],
                    specialities=specialities,
                    available=k != 7,
                    conflicts=conflicts,
                )
            )
    return inspectors


def _pick(
    dice: _Dice, objects: list[InspectionObject], taken: set[str], where: Callable[[InspectionObject], bool]
) -> str:
    candidates = [o.credit_code for o in objects if o.credit_code not in taken and where(o)]
    code = dice.choice(candidates)
    taken.add(code)
    return code


def _in_zone_with(line: str) -> Callable[[InspectionObject], bool]:
    def where(o: InspectionObject) -> bool:
        return o.registering_department_id == HIGH_TECH_ZONE and line in o.business_lines and _active(o)

    return where


def _active(o: InspectionObject) -> bool:
    return o.status == ObjectStatus.ACTIVE


def demo_directory() -> DemoDirectory:
    """The demo directory; the same records on every call."""
    dice = _Dice()
    objects = _objects(dice)
    inspectors = _inspectors(dice, objects)
    taken: set[str] = set()
    zone_se = _in_zone_with(SPECIAL_EQUIPMENT)

    complaint_plan = [
        (ComplaintStatus.HANDLING, zone_se, dt.date(2026, 10, 12), None, "电梯运行异响，维保记录缺失"),
        (ComplaintStatus.HANDLING, zone_se, dt.date(2026, 11, 3), None, "锅炉操作人员无证上岗"),
        (ComplaintStatus.RECEIVED, zone_se, dt.date(2026, 11, 20), None, "叉车未办理使用登记"),
        (
            ComplaintStatus.CLOSED,
            zone_se,
            dt.date(2026, 3, 8),
            dt.date(2026, 4, 15),
            "压力容器超期未检，已整改",
        ),
        (ComplaintStatus.HANDLING, _active, dt.date(2026, 9, 27), None, "产品标称执行标准已废止"),
        (ComplaintStatus.RECEIVED, _active, dt.date(2026, 11, 25), None, "加油机计量不准"),
        (
            ComplaintStatus.CLOSED,
            _active,
            dt.date(2025, 12, 2),
            dt.date(2026, 1, 19),
            "电子秤未经检定，已处罚",
        ),
        (ComplaintStatus.CLOSED, _active, dt.date(2026, 5, 14), dt.date(2026, 6, 2), "举报不实"),
        (ComplaintStatus.HANDLING, _active, dt.date(2026, 8, 30), None, "钢材产品质量不合格"),
        (ComplaintStatus.RECEIVED, _active, dt.date(2026, 11, 28), None, "电梯困人"),
    ]
    complaints = [
        Complaint(
            id=f"CPL-2026-{n:04d}",
            credit_code=_pick(dice, objects, taken, where),
            status=status,
            received_on=received,
            closed_on=closed,
            summary=summary,
        )
        for n, (status, where, received, closed, summary) in enumerate(complaint_plan, start=1)
    ]
    campaigns = [
        Campaign(
            id="CMP-2026-TS-ELEVATOR",
            name="唐山市2026年住宅小区电梯安全专项检查",
            organizer_department_id=CITY,
            region_code="130200",
            industry="K70",
            business_line=SPECIAL_EQUIPMENT,
            starts_on=dt.date(2026, 9, 1),
            ends_on=dt.date(2027, 2, 28),
        ),
        Campaign(
            id="CMP-2025-HB-STEEL",
            name="河北省2025年钢材产品质量专项监督抽查",
            organizer_department_id=PROVINCE,
            region_code="130000",
            industry="C31",
            business_line=PRODUCT_QUALITY,
            starts_on=dt.date(2025, 4, 1),
            ends_on=dt.date(2025, 10, 31),
        ),
    ]
    risk_plan = [
        (
            RiskConclusion.UNSUITABLE,
            zone_se,
            dt.date(2026, 7, 1),
            dt.date(2027, 6, 30),
            "停产整顿中，设备已封存",
        ),
        (
            RiskConclusion.UNSUITABLE,
            _active,
            dt.date(2026, 2, 10),
            dt.date(2027, 2, 9),
            "涉密单位，不宜随机抽查",
        ),
        (RiskConclusion.UNSUITABLE, _active, dt.date(2025, 3, 1), dt.date(2026, 3, 1), "结论已过有效期"),
        (RiskConclusion.SUITABLE, zone_se, dt.date(2026, 5, 20), None, ""),
        (RiskConclusion.SUITABLE, _active, dt.date(2026, 6, 18), dt.date(2027, 6, 17), ""),
    ]
    risk_assessments = [
        RiskAssessment(
            f"RA-2026-{n:03d}", _pick(dice, objects, taken, where), conclusion, assessed, until, note
        )
        for n, (conclusion, where, assessed, until, note) in enumerate(risk_plan, start=1)
    ]
    designation_plan = [
        (zone_se, SPECIAL_EQUIPMENT, "periodic_inspection", "《中华人民共和国特种设备安全法》第四十条", None),
        (
            zone_se,
            SPECIAL_EQUIPMENT,
            "periodic_inspection",
            "《中华人民共和国特种设备安全法》第四十条",
            dt.date(2025, 12, 31),
        ),
        (
            _in_zone_with(METROLOGY),
            METROLOGY,
            "compulsory_verification",
            "《中华人民共和国计量法》第九条",
            None,
        ),
        (_active, METROLOGY, "compulsory_verification", "《中华人民共和国计量法》第九条", None),
    ]
    statutory_designations = [
        StatutoryDesignation(
            f"SD-{n:03d}",
            _pick(dice, objects, taken, where),
            line,
            method,
            basis,
            dt.date(2024, 1, 1),
            valid_to,
        )
        for n, (where, line, method, basis, valid_to) in enumerate(designation_plan, start=1)
    ]
    items = [
        InspectionItem(
            code="TS-SE-01",
            name="特种设备使用单位监督检查",
            legal_basis="《中华人民共和国特种设备安全法》第五十七条",
            business_line=SPECIAL_EQUIPMENT,
            target_scope="特种设备使用单位",
            required_speciality=SPECIAL_EQUIPMENT,
            kind=ItemKind.GENERAL,
            default_ratio=Fraction(1, 10),
            department_id=CITY,
            cost_per_inspection=Fraction(300),
        ),
        InspectionItem(
            code="TS-PQ-01",
            name="生产领域产品质量监督抽查",
            legal_basis="《中华人民共和国产品质量法》第十五条",
            business_line=PRODUCT_QUALITY,
            target_scope="工业产品生产企业",
            required_speciality=PRODUCT_QUALITY,
            kind=ItemKind.GENERAL,
            default_ratio=Fraction(1, 20),
            department_id=CITY,
            days_per_inspection=Fraction(3),
            cost_per_inspection=Fraction(400),
            testing_fee=Fraction(2500),  # a sampling item: the samples' laboratory tests
        ),
        InspectionItem(
            code="TS-ME-01",
            name="强制检定计量器具使用监督检查",
            legal_basis="《中华人民共和国计量法》第九条",
            business_line=METROLOGY,
            target_scope="使用强制检定计量器具的单位",
            required_speciality=METROLOGY,
            kind=ItemKind.GENERAL,
            default_ratio=Fraction(1, 20),
            department_id=CITY,
            cost_per_inspection=Fraction(200),
        ),
    ]
    return DemoDirectory(
        departments=list(_DEPARTMENTS),
        objects=objects,
        inspectors=inspectors,
        complaints=complaints,
        campaigns=campaigns,
        risk_assessments=risk_assessments,
        statutory_designations=statutory_designations,
        items=items,
        suggested_task=DemoTask(
            item_code="TS-SE-01",
            department_id=HIGH_TECH_ZONE,
            ratio="0.1",
            team_size=2,
            title="2026年高新区特种设备使用单位双随机抽查",
        ),
    )


def demo_checklists() -> dict[str, Checklist]:
    """The check points of the demo items (Art. 4, 11), by item code; TS-PQ-01 is a sampling item."""
    se_law = "《中华人民共和国特种设备安全法》"
    return {
        "TS-SE-01": Checklist(
            check_points=(
                CheckPoint(
                    "SE-1", "特种设备使用登记证及登记标志", f"{se_law}第三十三条", CheckMethod.DOCUMENT_REVIEW
                ),
                CheckPoint(
                    "SE-2", "特种设备定期检验及检验合格标志", f"{se_law}第四十条", CheckMethod.ON_SITE
                ),
                CheckPoint(
                    "SE-3", "安全管理人员和作业人员持证上岗", f"{se_law}第十四条", CheckMethod.DOCUMENT_REVIEW
                ),
                CheckPoint(
                    "SE-4", "安全技术档案和日常维护保养记录", f"{se_law}第三十五条", CheckMethod.ON_SITE
                ),
            )
        ),
        "TS-PQ-01": Checklist(
            check_points=(
                CheckPoint(
                    "PQ-1", "产品标识标注", "《中华人民共和国产品质量法》第二十七条", CheckMethod.ON_SITE
                ),
                CheckPoint(
                    "PQ-2",
                    "产品质量抽样检验",
                    "《中华人民共和国产品质量法》第十五条",
                    CheckMethod.SAMPLING_AND_TESTING,
                ),
                CheckPoint(
                    "PQ-3",
                    "出厂检验记录",
                    "《中华人民共和国产品质量法》第十二条",
                    CheckMethod.DOCUMENT_REVIEW,
                ),
            ),
            sample_requirements="在企业成品库待销产品中随机抽取，样品数量按产品标准规定，检验样品和备用样品分别封存",
            laboratory_requirements="具有相应检验资质（CMA）的检验检测机构，从检验检测机构名录库中随机抽取",
        ),
        "TS-ME-01": Checklist(
            check_points=(
                CheckPoint(
                    "ME-1",
                    "强制检定计量器具登记备案",
                    "《中华人民共和国计量法》第九条",
                    CheckMethod.DOCUMENT_REVIEW,
                ),
                CheckPoint(
                    "ME-2",
                    "计量器具检定合格证书及有效期",
                    "《中华人民共和国计量法》第九条",
                    CheckMethod.ON_SITE,
                ),
                CheckPoint(
                    "ME-3",
                    "计量器具网上备案信息与实际一致",
                    "《中华人民共和国计量法实施细则》第十一条",
                    CheckMethod.ONLINE,
                ),
            )
        ),
    }
