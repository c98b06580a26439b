"""The SVG bar charts: well-formed XML whatever the labels, the bars carry exactly the numbers given, wide
(CJK) labels are measured and cut, an empty chart says so, and the table beside it holds the same numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dualdraw_client.charts import Chart, chart, figure_html, svg, table_html

NS = "{http://www.w3.org/2000/svg}"


def parsed(c: Chart) -> ET.Element:
    return ET.fromstring(svg(c))


def test_bars_carry_the_numbers_and_grow_with_them() -> None:
    c = chart(
        "k", "检查对象", "部门", ["范围内", "抽中"], [("高新区分局", [120, 11]), ("路南区分局", [40, 0])]
    )
    root = parsed(c)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "k-title k-desc"
    assert root.findtext(f"{NS}title") == "检查对象"
    assert "高新区分局: 范围内 120, 抽中 11" in (root.findtext(f"{NS}desc") or "")
    found = {
        (r.get("data-label"), r.get("data-series")): (int(r.get("data-value", "")), int(r.get("width", "")))
        for r in root.iter(f"{NS}rect")
        if r.get("class") == "bar"
    }
    assert {k: v for k, (v, _w) in found.items()} == {
        ("高新区分局", "范围内"): 120,
        ("高新区分局", "抽中"): 11,
        ("路南区分局", "范围内"): 40,
        ("路南区分局", "抽中"): 0,
    }
    widths = {k: w for k, (_v, w) in found.items()}
    assert (
        widths[("高新区分局", "范围内")]
        > widths[("路南区分局", "范围内")]
        > widths[("高新区分局", "抽中")]
        > 0
    )
    assert widths[("路南区分局", "抽中")] == 0
    assert c.values() == {"高新区分局": {"范围内": 120, "抽中": 11}, "路南区分局": {"范围内": 40, "抽中": 0}}


def test_markup_in_labels_stays_text() -> None:
    hostile = "<script>alert(\"x\")</script> & '𠮷'"
    c = chart("a&b", hostile, hostile, [hostile], [(hostile, [3])])
    root = parsed(c)
    [bar] = [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert bar.get("data-label") == hostile
    assert bar.get("data-series") == hostile
    for text in (svg(c), table_html(c), figure_html(c)):
        assert "<script>" not in text


def test_a_long_chinese_label_is_cut_on_the_picture_and_kept_whole_in_its_tooltip() -> None:
    name = "唐山市市场监督管理局高新技术产业开发区分局第一执法大队"
    root = parsed(chart("k", "t", "部门", ["n"], [(name, [1])]))
    [label] = [t for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    assert label.findtext(f"{NS}title") == name
    shown = "".join(label.itertext()).removeprefix(name)
    assert shown.endswith("…")
    assert len(shown) == 14  # 13 wide characters (26 columns) and the ellipsis


def test_an_empty_chart_says_so() -> None:
    c = chart("k", "t", "部门", ["n"], [], empty="暂无数据")
    root = parsed(c)
    assert "暂无数据" in "".join(root.itertext())
    assert not [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert "暂无数据" in table_html(c)


def test_the_table_holds_the_same_numbers() -> None:
    c = chart("k", "t", "部门", ["a", "b"], [("x", [1, 2])])
    table = ET.fromstring(table_html(c))
    assert [th.text for th in table.iter("th")] == ["部门", "a", "b", "x"]
    assert [td.text for td in table.iter("td")] == ["1", "2"]


@pytest.mark.parametrize("counts", [[1], [1, 2, 3], [1, -1]])
def test_a_row_needs_one_count_per_series_none_negative(counts: list[int]) -> None:
    with pytest.raises(ValueError, match="needs 2 counts"):
        chart("k", "t", "l", ["a", "b"], [("x", counts)])
