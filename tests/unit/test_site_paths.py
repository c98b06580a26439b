"""The public site writes only inside its output folder, whatever ids the server sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.entrypoints.site.render import render_site
from dualdraw.v1 import public_pb2

DAY = dt.date(2026, 12, 1)
CODE = "91130200MA0A1B2C3X"


class PublicApi:
    """What ``render_site`` reads from a server's public API, with the ids a server chose."""

    def __init__(self, draw_id: str, credit_code: str = CODE) -> None:
        self.draw_id = draw_id
        self.credit_code = credit_code

    def published_items(self, as_of: Any) -> list[Any]:
        return []

    def item_versions(self, code: str) -> list[Any]:
        return []

    def iter_published_draws(self) -> Iterator[public_pb2.PublicDraw]:
        yield public_pb2.PublicDraw(draw_id=self.draw_id, deadline="2026-12-31")

    def iter_published_results(self) -> Iterator[public_pb2.PublicResult]:
        yield public_pb2.PublicResult(
            draw_id=self.draw_id, credit_code=self.credit_code, inspected_on="2026-12-03", version=1
        )

    def abandoned_draws(self) -> list[public_pb2.AbandonedDraw]:
        return []

    def redraw_statistics(self) -> public_pb2.GetRedrawStatisticsResponse:
        return public_pb2.GetRedrawStatisticsResponse(max_abandons_per_task=1)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_plain_ids_become_pages(tmp_path: Path) -> None:
    out = tmp_path / "site"
    render_site(PublicApi("d-1"), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert {"draws/d-1.html", f"objects/{CODE}.html"} <= _files(out)


@pytest.mark.parametrize(
    "draw_id",
    ["../../x", "../x", "..", "a/../../x", "a/b", "a\\b", "/etc/x", "x\n", ".hidden", "a..b", ""],
)
def test_hostile_draw_ids_are_refused_and_nothing_is_written_outside(tmp_path: Path, draw_id: str) -> None:
    out = tmp_path / "one" / "two" / "site"
    with pytest.raises(ValueError, match="refusing"):
        render_site(PublicApi(draw_id), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(tmp_path) == set()


@pytest.mark.parametrize("credit_code", ["../../x", "../objects2/x", "x/y", "..", "x\n"])
def test_hostile_credit_codes_are_refused(tmp_path: Path, credit_code: str) -> None:
    out = tmp_path / "site"
    with pytest.raises(ValueError, match="refusing"):
        render_site(PublicApi("d-1", credit_code), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(tmp_path) == set()


def test_a_page_folder_linked_outside_the_site_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "draws").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        render_site(PublicApi("d-1"), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(elsewhere) == set()
