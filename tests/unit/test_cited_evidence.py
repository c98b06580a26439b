"""Citations of evidence checked against the evidence rows: one violation per bad citation, one lookup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import cast

import pytest

from dualdraw.domain.errors import InvalidArgument
from dualdraw.domain.evidence import Citation, Evidence, citation_problems
from dualdraw.service_layer.evidence import require_cited
from dualdraw.service_layer.ports import UnitOfWork

PHOTO = Evidence("a" * 64, 10, "image/jpeg", "p.jpg", "inspector", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


class Rows:
    """The evidence repository's bulk read, counting its calls."""

    def __init__(self, *rows: Evidence) -> None:
        self.rows = {r.sha256: r for r in rows}
        self.calls: list[set[str]] = []

    def get_many(self, sha256s: Collection[str]) -> dict[str, Evidence]:
        self.calls.append(set(sha256s))
        return {s: self.rows[s] for s in sha256s if s in self.rows}


class Uow:
    def __init__(self, evidence: Rows) -> None:
        self.evidence = evidence


def test_each_bad_citation_gets_one_violation_naming_its_field() -> None:
    citations = [
        Citation("x.attachments[0]", PHOTO.sha256, 10, "IMAGE/JPEG; q=1"),  # good: type compared canonically
        Citation("x.attachments[1]", "b" * 64, 10, "image/jpeg"),
        Citation("x.attachments[2]", PHOTO.sha256, 11, "image/png"),  # size first, then type
        Citation("x.attachments[3]", PHOTO.sha256, 10, "image/png"),
        Citation("x.evidence[0]", PHOTO.sha256, 9, size_field="size_bytes"),
        Citation("x.evidence[1]", PHOTO.sha256, 10),  # no content type cited: not compared
    ]
    found = [(v.field, v.reason) for v in citation_problems(citations, {PHOTO.sha256: PHOTO})]
    assert found == [
        ("x.attachments[1].sha256", "EVIDENCE_NOT_UPLOADED"),
        ("x.attachments[2].size", "EVIDENCE_SIZE_MISMATCH"),
        ("x.attachments[3].content_type", "EVIDENCE_TYPE_MISMATCH"),
        ("x.evidence[0].size_bytes", "EVIDENCE_SIZE_MISMATCH"),
    ]


def test_the_rows_are_read_in_one_lookup_and_nothing_is_read_without_citations() -> None:
    rows = Rows(PHOTO)
    uow = cast(UnitOfWork, Uow(rows))
    require_cited(uow, [])
    assert rows.calls == []
    require_cited(uow, [Citation(f"e[{i}]", PHOTO.sha256, 10) for i in range(5)])
    with pytest.raises(InvalidArgument) as refused:
        require_cited(uow, [Citation("e[0]", PHOTO.sha256, 10), Citation("e[1]", "c" * 64, 1)])
    assert [v.reason for v in refused.value.violations] == ["EVIDENCE_NOT_UPLOADED"]
    assert rows.calls == [{PHOTO.sha256}, {PHOTO.sha256, "c" * 64}]
