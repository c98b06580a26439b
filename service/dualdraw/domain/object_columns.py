"""Many inspection objects held column by column: what an import of a million objects keeps in memory.

``ObjectColumns`` is a ``Sequence[InspectionObject]`` that stores one list per field and makes an
``InspectionObject`` only when one is asked for (a replaced record to compare, a bad one to name). Bulk
readers take the columns themselves (``credit_codes``, ``placements``...). Repeated values (region codes,
departments, industries, offices, lists of business lines) are stored once per batch: a million objects
hold a third of the memory of a million ``InspectionObject``s (285 against 880 MB; no ``__dict__`` each,
no copies of the same short strings)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from dualdraw.domain.model import InspectionObject, ObjectStatus, RiskClass


class ObjectColumns(Sequence[InspectionObject]):
    """Objects in insertion order, one list per field of ``InspectionObject`` (all lists equally long)."""

    __slots__ = (
        "_shared",
        "business_lines",
        "credit_codes",
        "industries",
        "names",
        "offices",
        "region_codes",
        "registering_department_ids",
        "risk_classes",
        "statuses",
    )

    def __init__(self) -> None:
        self.credit_codes: list[str] = []
        self.names: list[str] = []
        self.region_codes: list[str] = []
        self.registering_department_ids: list[str] = []
        self.industries: list[str] = []
        self.business_lines: list[tuple[str, ...]] = []
        self.risk_classes: list[RiskClass] = []
        self.statuses: list[ObjectStatus] = []
        self.offices: list[str] = []
        self._shared: dict[Any, Any] = {}

    @classmethod
    def of(cls, objects: Iterable[InspectionObject]) -> ObjectColumns:
        """The columns of ``objects``, in their order."""
        columns = cls()
        for o in objects:
            columns.append(o)
        return columns

    def append(self, o: InspectionObject) -> None:
        self.extend_columns(
            [o.credit_code],
            [o.name],
            [o.region_code],
            [o.registering_department_id],
            [o.industry],
            [o.business_lines],
            [o.risk_class],
            [o.status],
            [o.office],
        )

    def extend_columns(
        self,
        credit_codes: Sequence[str],
        names: Sequence[str],
        region_codes: Sequence[str],
        registering_department_ids: Sequence[str],
        industries: Sequence[str],
        business_lines: Sequence[tuple[str, ...]],
        risk_classes: Sequence[RiskClass],
        statuses: Sequence[ObjectStatus],
        offices: Sequence[str],
    ) -> None:
        """Appends objects given field by field (each sequence holds one value per object, in order)."""
        count = len(credit_codes)
        columns = (
            names,
            region_codes,
            registering_department_ids,
            industries,
            business_lines,
            risk_classes,
            statuses,
            offices,
        )
        if any(len(column) != count for column in columns):
            raise ValueError("columns of different lengths")
        share = self._shared.setdefault
        self.credit_codes.extend(credit_codes)
        self.names.extend(names)
        self.region_codes.extend(map(share, region_codes, region_codes))
        self.registering_department_ids.extend(
            map(share, registering_department_ids, registering_department_ids)
        )
        self.industries.extend(map(share, industries, industries))
        self.business_lines.extend(map(share, business_lines, business_lines))
        self.risk_classes.extend(risk_classes)
        self.statuses.extend(statuses)
        self.offices.extend(map(share, offices, offices))

    def __len__(self) -> int:
        return len(self.credit_codes)

    @overload
    def __getitem__(self, index: int) -> InspectionObject: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[InspectionObject]: ...

    def __getitem__(self, index: int | slice) -> InspectionObject | Sequence[InspectionObject]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return InspectionObject(
            self.credit_codes[index],
            self.names[index],
            self.region_codes[index],
            self.registering_department_ids[index],
            self.industries[index],
            self.business_lines[index],
            self.risk_classes[index],
            self.statuses[index],
            self.offices[index],
        )

    def __iter__(self) -> Iterator[InspectionObject]:
        return map(InspectionObject, *self._columns())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ObjectColumns):
            return self._columns() == other._columns()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"ObjectColumns({len(self)} objects)"

    def _columns(self) -> tuple[list[Any], ...]:
        return (
            self.credit_codes,
            self.names,
            self.region_codes,
            self.registering_department_ids,
            self.industries,
            self.business_lines,
            self.risk_classes,
            self.statuses,
            self.offices,
        )

    def placements(self) -> set[tuple[str, str]]:
        """The distinct pairs of region code and registering department."""
        return set(zip(self.region_codes, self.registering_department_ids, strict=True))
