"""Horizontal bar charts as self-contained SVG, with the same numbers as an HTML table beside them.

Used by ``dualdraw report`` and by the public site. No plotting library: the charts are bars with labels,
and writing them here keeps control of what matters to their readers -- ``role="img"`` with a title and a
text description, a ``<title>`` tooltip and ``data-*`` attributes per bar, Chinese labels measured in
terminal columns (a CJK character is two), colours that stay apart for colour-blind readers (Okabe-Ito),
integer geometry -- without a dependency in the client distribution. Every string is XML-escaped, so the
SVG parses as XML and embeds in HTML as it is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

WIDTH: Final = 720
BAR: Final = 14
GAP: Final = 10
FONT: Final = 13
COLUMN_PX: Final = 7  # one terminal column at 13 px (a CJK character takes two)
MAX_LABEL_COLUMNS: Final = 28
PALETTE: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
FONT_FAMILY: Final = (
    "system-ui, 'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
)


@dataclass(frozen=True)
class Chart:
    """One chart: a bar per series for each row (``rows``: label and one count per series).

    ``key`` names it in ids and ``data-chart``; ``label_header`` heads the label column of the table;
    ``empty`` is shown when there are no rows.
    """

    key: str
    title: str
    label_header: str
    series: tuple[str, ...]
    rows: tuple[tuple[str, tuple[int, ...]], ...] = ()
    empty: str = "no data"
    note: str = ""

    def values(self) -> dict[str, dict[str, int]]:
        """``{label: {series: value}}``: what the chart shows, for tests and ``--json``."""
        return {label: dict(zip(self.series, counts, strict=True)) for label, counts in self.rows}


def chart(
    key: str,
    title: str,
    label_header: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    empty: str = "no data",
    note: str = "",
) -> Chart:
    """A :class:`Chart`; each row must have one count per series, none negative."""
    fixed = tuple((str(label), tuple(int(n) for n in counts)) for label, counts in rows)
    for label, counts in fixed:
        if len(counts) != len(series) or min(counts, default=0) < 0:
            raise ValueError(f"chart {key}: row {label!r} needs {len(series)} counts >= 0, got {counts}")
    return Chart(key, title, label_header, tuple(series), fixed, empty, note)


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _shorten(text: str, columns: int) -> str:
    """``text`` cut to ``columns`` terminal columns, ending in "…" when cut."""
    if _columns(text) <= columns:
        return text
    kept, used = [], 0
    for char in text:
        used += _columns(char)
        if used > columns - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def svg(c: Chart) -> str:
    """The chart as one ``<svg>`` element (no XML declaration; valid XML, embeddable in HTML)."""
    labels = [_shorten(label, MAX_LABEL_COLUMNS) for label, _counts in c.rows]
    label_px = max((_columns(text) for text in labels), default=4) * COLUMN_PX + 12
    value_px = max((len(str(n)) for _label, counts in c.rows for n in counts), default=1) * COLUMN_PX + 8
    plot_px = max(WIDTH - label_px - value_px, 120)
    top = 8 + (FONT + 10 if len(c.series) > 1 else 0)
    row_px = len(c.series) * BAR + GAP
    height = top + max(len(c.rows), 1) * row_px + 8
    peak = max((n for _label, counts in c.rows for n in counts), default=0)
    summary = "; ".join(
        f"{label}: " + ", ".join(f"{s} {n}" for s, n in zip(c.series, counts, strict=True))
        for label, counts in c.rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_attr(c.key)}"'
        f' width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-labelledby="{_attr(c.key)}-title {_attr(c.key)}-desc"'
        f' font-family="{_attr(FONT_FAMILY)}" font-size="{FONT}">',
        f'<title id="{_attr(c.key)}-title">{escape(c.title)}</title>',
        f'<desc id="{_attr(c.key)}-desc">{escape(summary or c.empty)}</desc>',
    ]
    if len(c.series) > 1:
        x = label_px
        for i, name in enumerate(c.series):
            colour = PALETTE[i % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="8" width="{FONT}" height="{FONT}" fill="{colour}"/>')
            parts.append(f'<text x="{x + FONT + 4}" y="{8 + FONT - 2}">{escape(name)}</text>')
            x += FONT + 4 + _columns(name) * COLUMN_PX + 16
    if not c.rows:
        parts.append(f'<text x="8" y="{top + FONT + 2}" fill="#555">{escape(c.empty)}</text>')
    for r, ((label, counts), shown) in enumerate(zip(c.rows, labels, strict=True)):
        y = top + r * row_px
        middle = y + len(c.series) * BAR // 2 + FONT // 2 - 2
        parts.append(
            f'<text x="{label_px - 8}" y="{middle}" text-anchor="end"><title>{escape(label)}</title>'
            f"{escape(shown)}</text>"
        )
        for i, (name, n) in enumerate(zip(c.series, counts, strict=True)):
            width = n * plot_px // peak if peak else 0
            bar_y = y + i * BAR
            colour = PALETTE[i % len(PALETTE)]
            parts.append(
                f'<rect class="bar" x="{label_px}" y="{bar_y}" width="{width}" height="{BAR - 2}"'
                f' fill="{colour}" data-label="{_attr(label)}" data-series="{_attr(name)}"'
                f' data-value="{n}"><title>{escape(f"{label} · {name}: {n}")}</title></rect>'
            )
            parts.append(f'<text x="{label_px + width + 4}" y="{bar_y + BAR - 3}" fill="#333">{n}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def table_html(c: Chart) -> str:
    """The chart's numbers as an HTML table (the text alternative to the picture)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in (c.label_header, *c.series))
    body = (
        "".join(
            f'<tr><th scope="row">{escape(label)}</th>' + "".join(f"<td>{n}</td>" for n in counts) + "</tr>"
            for label, counts in c.rows
        )
        or f'<tr><td colspan="{len(c.series) + 1}">{escape(c.empty)}</td></tr>'
    )
    return (
        f'<table class="chart-data" id="{_attr(c.key)}-data"><caption>{escape(c.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def figure_html(c: Chart, *, data_label: str = "data") -> str:
    """A ``<figure>``: the SVG, a caption (title and note) and the table under a ``<details>`` toggle."""
    note = f"<br><small>{escape(c.note)}</small>" if c.note else ""
    return (
        f'<figure class="chart" id="{_attr(c.key)}">\n{svg(c)}\n'
        f"<figcaption>{escape(c.title)}{note}</figcaption>\n"
        f"<details><summary>{escape(data_label)}</summary>{table_html(c)}</details>\n</figure>"
    )
