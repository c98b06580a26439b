"""The inspection item list and its published versions (``ItemRepository``, ``ItemVersionRepository``)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from fractions import Fraction

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import SqlRepository, keyset_page
from dualdraw.adapters.store.rows import (
    ITEM_VERSIONS,
    ITEMS,
    Row,
    dump_strings,
    item_values,
    load_strings,
    to_item,
)
from dualdraw.domain.errors import AlreadyExists, NotFound
from dualdraw.domain.item_list import ItemVersion
from dualdraw.domain.model import InspectionItem, ItemKind
from dualdraw.service_layer.ports import Page, PageRequest


class SqlItemRepository(SqlRepository):
    """The inspection item list (``ItemRepository``)."""

    def add(self, item: InspectionItem) -> None:
        """Raises ``AlreadyExists`` (reason ``ITEM_EXISTS``) when the code is taken."""
        self._add_new(ITEMS, item_values(item), "ITEM_EXISTS", "item")

    def get(self, code: str) -> InspectionItem | None:
        return self._get(ITEMS, code, to_item)

    def list(self, page: PageRequest) -> Page[InspectionItem]:
        items, last = keyset_page(self._connection, sa.select(ITEMS), ITEMS.c.code, page, to_item)
        return Page(items, None if last is None else last.code)


WORKLOAD_DEFAULTS = {
    "days_per_inspection": Fraction(1),
    "cost_per_inspection": Fraction(0),
    "testing_fee": Fraction(0),
}


def _snapshot(item: InspectionItem) -> str:
    data: dict[str, object] = {
        "code": item.code,
        "name": item.name,
        "legal_basis": item.legal_basis,
        "business_line": item.business_line,
        "target_scope": item.target_scope,
        "required_speciality": item.required_speciality,
        "kind": item.kind.value,
        "default_ratio": f"{item.default_ratio.numerator}/{item.default_ratio.denominator}",
        "department_id": item.department_id,
        "created_at": item.created_at.isoformat() if item.created_at else None,
    }
    if item.frequency_cap is not None:  # absent for items without one: older snapshots read back unchanged
        data["frequency_cap"] = item.frequency_cap
    if item.unqualified_assistant:  # absent when not allowed: older snapshots read back unchanged
        data["unqualified_assistant"] = True
    # The estimate's figures, only where they differ from the defaults: older snapshots read back unchanged.
    if item.team_size != 2:
        data["team_size"] = item.team_size
    for name in ("days_per_inspection", "cost_per_inspection", "testing_fee"):
        value: Fraction = getattr(item, name)
        if value != WORKLOAD_DEFAULTS[name]:
            data[name] = f"{value.numerator}/{value.denominator}"
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _from_snapshot(text: str) -> InspectionItem:
    data = json.loads(text)
    n, d = data["default_ratio"].split("/")
    created = data.get("created_at")
    return InspectionItem(
        code=data["code"],
        name=data["name"],
        legal_basis=data["legal_basis"],
        business_line=data["business_line"],
        target_scope=data["target_scope"],
        required_speciality=data["required_speciality"],
        kind=ItemKind(data["kind"]),
        default_ratio=Fraction(int(n), int(d)),
        department_id=data["department_id"],
        created_at=dt.datetime.fromisoformat(created) if created else None,
        frequency_cap=data.get("frequency_cap"),
        unqualified_assistant=bool(data.get("unqualified_assistant", False)),
        team_size=int(data.get("team_size", 2)),
        **{name: Fraction(data.get(name, default)) for name, default in WORKLOAD_DEFAULTS.items()},
    )


def to_item_version(r: Row) -> ItemVersion:
    return ItemVersion(
        code=r.code,
        version=r.version,
        item=_from_snapshot(r.snapshot_json),
        effective_from=r.effective_from,
        published_at=r.published_at,
        published_by=r.published_by,
        change_summary=r.change_summary,
        change_legal_basis=r.change_legal_basis,
        changed_fields=load_strings(r.changed_fields_json),
    )


class SqlItemVersionRepository(SqlRepository):
    """Published versions of the item list (``ItemVersionRepository``)."""

    def add(self, version: ItemVersion) -> None:
        values = {
            "code": version.code,
            "version": version.version,
            "effective_from": version.effective_from,
            "published_at": version.published_at,
            "published_by": version.published_by,
            "change_summary": version.change_summary,
            "change_legal_basis": version.change_legal_basis,
            "changed_fields_json": dump_strings(version.changed_fields),
            "snapshot_json": _snapshot(version.item),
        }
        error = AlreadyExists(
            f"item {version.code!r} version {version.version} exists already",
            reason="ITEM_VERSION_EXISTS",
            metadata={"code": version.code},
        )
        self._insert_new(ITEM_VERSIONS, values, error)

    def history(self, code: str) -> builtins.list[ItemVersion]:
        rows = self._connection.execute(
            sa.select(ITEM_VERSIONS).where(ITEM_VERSIONS.c.code == code).order_by(ITEM_VERSIONS.c.version)
        )
        return [to_item_version(r) for r in rows]

    def all(self) -> builtins.list[ItemVersion]:
        rows = self._connection.execute(
            sa.select(ITEM_VERSIONS).order_by(ITEM_VERSIONS.c.code, ITEM_VERSIONS.c.version)
        )
        return [to_item_version(r) for r in rows]

    def replace_item(self, item: InspectionItem) -> None:
        values = item_values(item)
        code = values.pop("code")
        result = self._connection.execute(sa.update(ITEMS).where(ITEMS.c.code == code).values(**values))
        if result.rowcount == 0:
            raise NotFound("inspection item", code)
