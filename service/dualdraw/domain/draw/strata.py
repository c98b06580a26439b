"""Strata: the groups a draw selects from, each at its own ratio (docs/DRAW-ALGORITHM.md §5, §14).

A ``dualdraw-draw/1`` draw has the one stratum ``all`` at the task's ratio. A ``dualdraw-draw/2`` draw has one
stratum per credit-risk class after raises, each at its class ratio or else the task's. The manifest
records every stratum as ``{"count": n, "ratio": "p/q"}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from dualdraw.domain.draw.ascending import strictly_ascending
from dualdraw.domain.draw.commitments import EligibleEntries, EligibleEntry
from dualdraw.domain.model import ObjectAttributes, RiskClass, attribute_column, credit_codes
from dualdraw.domain.policy import Raise

DEFAULT_STRATUM = "all"


def fraction_text(r: Fraction) -> str:
    """A ratio as the manifest writes it: ``"p/q"`` in lowest terms."""
    return f"{r.numerator}/{r.denominator}"


def parse_fraction(text: str) -> Fraction:
    """The ratio of a manifest's ``"p/q"``."""
    p, q = text.split("/")
    return Fraction(int(p), int(q))


def risk_strata(
    class_ratios: Mapping[str, Fraction],
    ratio: Fraction,
    objects: Sequence[ObjectAttributes],
    raises: Iterable[Raise],
) -> tuple[list[str], dict[str, Fraction]]:
    """Each object's stratum (its class after raises), in the order of ``objects``, and each stratum's
    ratio (class ratio or task ratio). A list, not a dict by code: a draw of a million objects holds it."""
    raised = {r.credit_code: r.to_class for r in raises}
    text = {c: c.value for c in RiskClass}  # an enum's .value is slow at a million objects
    strata = [text[c] for c in attribute_column(objects, "risk_class")]
    if raised:
        codes = credit_codes(objects)
        strata = [raised.get(code, s) for code, s in zip(codes, strata, strict=True)]
    ratios = {s: class_ratios.get(s, ratio) for s in set(strata)}
    return strata, ratios


def manifest_strata(entries: Iterable[EligibleEntry], ratios: Mapping[str, Fraction]) -> dict[str, Any]:
    """The manifest's ``objects.strata``: every stratum with eligible objects, its count and its ratio."""
    if isinstance(entries, EligibleEntries):
        counts: Mapping[str, int] = entries.strata.counts()
    else:
        counts = Counter(e.stratum for e in entries)
    return {name: {"count": counts[name], "ratio": fraction_text(ratios[name])} for name in sorted(counts)}


def stratum_ratios(manifest: Mapping[str, Any]) -> dict[str, Fraction]:
    """Every stratum of a manifest with its ratio."""
    return {name: parse_fraction(s["ratio"]) for name, s in manifest["objects"]["strata"].items()}


class StrataPartition(dict[str, list[str]]):
    """``codes_by_stratum`` of entries whose codes are strictly ascending: each code is in one stratum
    only, which ``selection.select_stratified`` then need not check with a set of every code."""


def codes_by_stratum(entries: Iterable[EligibleEntry]) -> dict[str, list[str]]:
    """The eligible codes of each stratum, in the order of ``entries`` (strata as they first occur); a
    ``StrataPartition`` when the entries are columns whose codes are strictly ascending."""
    if isinstance(entries, EligibleEntries):
        strata, codes = entries.strata, entries.codes
        lists = {name: strata.where(name, codes) for name in strata.counts()}
        return StrataPartition(lists) if strictly_ascending(codes) else lists
    out: dict[str, list[str]] = {}
    for e in entries:
        out.setdefault(e.stratum, []).append(e.code)
    return out
