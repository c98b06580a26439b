"""Result validation (Art. 12-13) and the item list as of a date (Art. 5), as plain domain logic."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from dualdraw.domain.item_list import ItemVersion, changed_fields, list_as_of
from dualdraw.domain.model import InspectionItem, ItemKind
from dualdraw.domain.results import Outcome, ResultEntry, correction_problems, result_problems

TODAY = dt.date(2026, 12, 10)
DRAWN = dt.date(2026, 12, 1)


def fields(entry: ResultEntry) -> set[str]:
    return {v.field for v in result_problems(entry, today=TODAY, drawn_on=DRAWN)}


def test_a_plain_result_is_valid() -> None:
    assert fields(ResultEntry(Outcome.NO_PROBLEM, TODAY)) == set()
    ok = ResultEntry(
        Outcome.CASE_OPENED, TODAY, "无证经营", ("0" * 64,), "唐高市监罚〔2026〕1号", True, "涉嫌犯罪"
    )
    assert fields(ok) == set()


def test_each_bad_field_is_named() -> None:
    assert fields(ResultEntry(Outcome.NO_PROBLEM, DRAWN - dt.timedelta(days=1))) == {"result.inspected_on"}
    assert fields(ResultEntry(Outcome.NO_PROBLEM, TODAY + dt.timedelta(days=1))) == {"result.inspected_on"}
    assert fields(ResultEntry(Outcome.PROBLEM_CORRECTED, TODAY, "  ")) == {"result.findings"}
    assert fields(
        ResultEntry(Outcome.NO_PROBLEM, TODAY, attachment_sha256=("A" * 64, "a" * 64, "a" * 64))
    ) == {
        "result.attachment_sha256[0]",
        "result.attachment_sha256",
    }
    assert fields(ResultEntry(Outcome.NO_PROBLEM, TODAY, penalty_decision_number="X")) == {
        "result.penalty_decision_number"
    }
    assert fields(ResultEntry(Outcome.NO_PROBLEM, TODAY, referral_note="x")) == {"result.referral_note"}
    assert fields(ResultEntry(Outcome.NOT_FOUND_AT_ADDRESS, TODAY, referred_to_judicial=True)) == {
        "result.referred_to_judicial"
    }
    assert [v.field for v in correction_problems(" ")] == ["correction_reason"]


def item(**kw: object) -> InspectionItem:
    base: dict[str, object] = {
        "code": "SE-01",
        "name": "特种设备",
        "legal_basis": "特种设备安全法",
        "business_line": "se",
        "target_scope": "",
        "required_speciality": "se",
        "kind": ItemKind.GENERAL,
        "default_ratio": Fraction(1, 20),
        "department_id": "d",
    }
    base.update(kw)
    return InspectionItem(**base)  # type: ignore[arg-type]


def version(n: int, effective: dt.date, it: InspectionItem) -> ItemVersion:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return ItemVersion(it.code, n, it, effective, now, "a", "s", "b")


def test_changed_fields_and_the_list_as_of_a_date() -> None:
    v1 = item()
    v2 = item(default_ratio=Fraction(1, 10), created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert changed_fields(v1, v2) == ("default_ratio",)  # the creation time is not content
    assert "name" in changed_fields(None, v1)
    history = [
        version(1, dt.date(2026, 1, 1), v1),
        version(2, dt.date(2026, 7, 1), v2),
        version(1, dt.date(2026, 3, 1), item(code="MS-01")),
    ]
    assert [(v.code, v.version) for v in list_as_of(history, dt.date(2026, 6, 30))] == [
        ("MS-01", 1),
        ("SE-01", 1),
    ]
    assert [(v.code, v.version) for v in list_as_of(history, dt.date(2026, 7, 1))] == [
        ("MS-01", 1),
        ("SE-01", 2),
    ]
    assert list_as_of(history, dt.date(2025, 12, 31)) == []
