"""Expert and testing-institution draws ``dualdraw/expert-draw/1`` (docs/DRAW-ALGORITHM.md §8.2).

After a draw is executed, an item that needs experts (专家) or a testing institution (检验检测机构) draws them
for every assignment from their own directory, the way inspectors are drawn: the *inputs* — the draw's seed
and objects, the requirement, each candidate's directory line (qualifications, declared conflicts, own or
employer credit code, objects served recently) and the entropy declaration — are frozen as canonical JSON
and logged before the entropy exists; ``seed = SHA256("dualdraw/expert-draw/1" ‖ 0x00 ‖ draw seed ‖
inputs hash ‖ entropy)``; per object the candidates not barred are ranked by ``(load, ticket, id)`` and the
first ``count`` taken. Whether every object can be served is decided from the inputs alone (before the
entropy), so a shortage can never serve as a re-roll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dualdraw.domain.canonical_json import canonical_json

VERSION = "dualdraw/expert-draw/1"
EXPERT = "expert"
INSTITUTION = "institution"
KINDS = (EXPERT, INSTITUTION)
AVOIDANCE_DAYS = 365
"""A candidate who served an object in an expert draw dated within this many days before (and on) the
draw date is not drawn for it again: the same window as the one-inspection-a-year frequency cap."""

BARRED_UNQUALIFIED = "not qualified"
BARRED_EXPIRED = "certificate expired"
BARRED_CONFLICT = "declared conflict"
BARRED_OWN = "own employer or the object itself"
BARRED_RECENT = "served the object recently"


@dataclass(frozen=True)
class Qualification:
    """A speciality certificate (expert) or an accreditation scope (institution); ``expires_on`` None: no
    expiry."""

    code: str
    expires_on: dt.date | None = None


@dataclass(frozen=True)
class Expert:
    """A directory entry of the expert directory (专家库); ``employer_credit_code`` may be empty."""

    id: str
    display_name: str
    department_id: str
    qualifications: tuple[Qualification, ...]
    employer_credit_code: str = ""
    conflicts: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TestingInstitution:
    """A directory entry of the testing-institution directory (检验检测机构); ``credit_code`` is its own."""

    __test__ = False  # not a pytest test class despite the name

    id: str
    display_name: str
    department_id: str
    credit_code: str
    qualifications: tuple[Qualification, ...]
    conflicts: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Requirement:
    """What an inspection item needs for each object: ``count`` of ``kind`` holding ``qualification``."""

    item_code: str
    kind: str
    qualification: str
    count: int


@dataclass(frozen=True)
class ExpertDraw:
    """A stored expert draw: ``inputs_json`` committed (state ``committed``) before its entropy, then the
    ``result_json`` (state ``executed``). ``entropy_source`` is the canonical JSON of the declaration."""

    id: str
    draw_id: str
    kind: str
    as_of: dt.date
    inputs_json: str
    inputs_hash: str
    entropy_source: str
    requested_at: dt.datetime
    actor: str
    state: str = "committed"
    entropy: str = ""
    seed: str = ""
    result_json: str = ""
    result_hash: str = ""
    executed_at: dt.datetime | None = None
    beacon_value: str = ""
    """The beacon round's signature the entropy came from (hex; "" for a local secret)."""


@dataclass(frozen=True)
class Selection:
    """One drawn member (``rank`` 0 leads) for the assignment at ``position``."""

    position: int
    rank: int
    member_id: str
    credit_code: str
    ticket: str


def selections_of(result: Mapping[str, Any]) -> list[Selection]:
    """The rows a result document stands for, in (position, rank) order."""
    return [
        Selection(int(s["position"]), rank, chosen["id"], s["credit_code"], chosen["ticket"])
        for s in result["selections"]
        for rank, chosen in enumerate(s["selected"])
    ]


class ExpertDrawProblem(ValueError):
    """The inputs cannot be drawn or a record does not verify; ``reason`` is a stable code."""

    def __init__(self, message: str, reason: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata or {})


def candidate_line(
    entry: Expert | TestingInstitution, qualification: str, object_codes: Iterable[str], recent: Iterable[str]
) -> dict[str, Any]:
    """The frozen directory line of §8.2: the latest-expiring certificate for ``qualification`` (``None``
    without expiry wins), conflicts with the draw's objects only, ``own`` = employer or own credit code, and
    ``recent`` = the draw's objects served within the avoidance window."""
    held = [q for q in entry.qualifications if q.code == qualification]
    certificate: dict[str, Any] | None = None
    if held:
        best = max(held, key=lambda q: (q.expires_on is None, q.expires_on or dt.date.min))
        certificate = {
            "code": best.code,
            "expires_on": best.expires_on.isoformat() if best.expires_on else None,
        }
    codes = set(object_codes)
    own = entry.employer_credit_code if isinstance(entry, Expert) else entry.credit_code
    return {
        "certificate": certificate,
        "conflicts": sorted(c for c in entry.conflicts if c in codes),
        "id": entry.id,
        "own": own,
        "recent": sorted(set(recent) & codes),
    }


def build_inputs(
    *,
    expert_draw_id: str,
    draw_id: str,
    draw_seed: str,
    as_of: dt.date,
    requested_at: dt.datetime,
    requirement: Requirement,
    objects: Sequence[tuple[int, str]],
    candidates: Sequence[dict[str, Any]],
    entropy_source: Mapping[str, Any],
) -> dict[str, Any]:
    """The inputs document (§8.2), frozen before the entropy. ``objects`` are (position, credit code)."""
    return {
        "algorithm": VERSION,
        "as_of": as_of.isoformat(),
        "avoidance_days": AVOIDANCE_DAYS,
        "candidates": sorted(candidates, key=lambda line: str(line["id"]).encode("utf-8")),
        "draw_id": draw_id,
        "draw_seed": draw_seed,
        "entropy_source": dict(entropy_source),
        "expert_draw_id": expert_draw_id,
        "objects": [{"credit_code": code, "position": pos} for pos, code in sorted(objects)],
        "requested_at": requested_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "requirement": {
            "count": requirement.count,
            "item_code": requirement.item_code,
            "kind": requirement.kind,
            "qualification": requirement.qualification,
        },
    }


def inputs_hash(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(inputs)).hexdigest()


def barred(line: Mapping[str, Any], qualification: str, as_of: str, code: str) -> str:
    """Why ``line`` may not serve object ``code`` ("" when it may), checked in this order."""
    cert = line["certificate"]
    if cert is None or cert["code"] != qualification:
        return BARRED_UNQUALIFIED
    if cert["expires_on"] is not None and cert["expires_on"] < as_of:
        return BARRED_EXPIRED
    if code in line["conflicts"]:
        return BARRED_CONFLICT
    if line["own"] == code:
        return BARRED_OWN
    if code in line["recent"]:
        return BARRED_RECENT
    return ""


def check_servable(inputs: Mapping[str, Any]) -> None:
    """Raises ``ExpertDrawProblem`` (``TOO_FEW_EXPERTS``) when some object has fewer than ``count``
    candidates not barred: decided from the inputs alone, before any entropy exists."""
    req = inputs["requirement"]
    short: list[str] = []
    why: Counter[str] = Counter()
    for obj in inputs["objects"]:
        reasons = [
            barred(line, req["qualification"], inputs["as_of"], obj["credit_code"])
            for line in inputs["candidates"]
        ]
        if reasons.count("") < req["count"]:
            short.append(obj["credit_code"])
            why.update(r for r in reasons if r)
    if short:
        raise ExpertDrawProblem(
            f"too few {req['kind']}s holding {req['qualification']} for {len(short)} object(s): "
            f"{', '.join(short[:10])}",
            "TOO_FEW_EXPERTS",
            {
                "objects": ",".join(short),
                "constraints": ",".join(r for r, _ in why.most_common()) or "too few candidates",
                "kind": req["kind"],
                "qualification": req["qualification"],
            },
        )


def derive_seed(draw_seed: str, hash_of_inputs: str, entropy: bytes) -> bytes:
    """``SHA256("dualdraw/expert-draw/1" ‖ 0x00 ‖ bytes(draw seed) ‖ bytes(inputs hash) ‖ entropy)``."""
    return hashlib.sha256(
        VERSION.encode("ascii") + b"\x00" + bytes.fromhex(draw_seed) + bytes.fromhex(hash_of_inputs) + entropy
    ).digest()


def ticket(seed: bytes, kind: str, position: int, candidate_id: str) -> bytes:
    """``SHA256(seed ‖ kind ‖ 0x00 ‖ decimal(position) ‖ 0x00 ‖ UTF8(id))``."""
    return hashlib.sha256(
        seed
        + kind.encode("ascii")
        + b"\x00"
        + str(position).encode("ascii")
        + b"\x00"
        + candidate_id.encode("utf-8")
    ).digest()


def select(inputs: Mapping[str, Any], entropy: bytes) -> dict[str, Any]:
    """The result document of §8.2: seed and, per object in position order, the chosen ids (best first)
    with their tickets. Raises ``ExpertDrawProblem`` as ``check_servable``."""
    check_servable(inputs)
    req = inputs["requirement"]
    seed = derive_seed(inputs["draw_seed"], inputs_hash(inputs), entropy)
    load: Counter[str] = Counter()
    selections = []
    for obj in sorted(inputs["objects"], key=lambda o: int(o["position"])):
        code, position = obj["credit_code"], int(obj["position"])
        ranked = sorted(
            (
                load[line["id"]],
                ticket(seed, req["kind"], position, line["id"]),
                line["id"].encode("utf-8"),
                line["id"],
            )
            for line in inputs["candidates"]
            if not barred(line, req["qualification"], inputs["as_of"], code)
        )[: req["count"]]
        for _, _, _, chosen in ranked:
            load[chosen] += 1
        selections.append(
            {
                "credit_code": code,
                "position": position,
                "selected": [{"id": chosen, "ticket": t.hex()} for _, t, _, chosen in ranked],
            }
        )
    return {
        "algorithm": VERSION,
        "entropy": entropy.hex(),
        "expert_draw_id": inputs["expert_draw_id"],
        "inputs_hash": inputs_hash(inputs),
        "seed": seed.hex(),
        "selections": selections,
    }


def result_hash(result: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(result)).hexdigest()


def verify(inputs_json: str, result_json: str) -> str:
    """ "" when ``result_json`` is exactly what ``inputs_json`` and the result's entropy give, else the first
    difference as ``<part>: <detail>``. Checks canonical form; the entropy against its declaration is the
    caller's (it needs the beacon or the local secret)."""
    try:
        inputs = json.loads(inputs_json)
        result = json.loads(result_json)
    except ValueError as exc:
        return f"record: not JSON ({exc})"
    if canonical_json(inputs).decode("utf-8") != inputs_json:
        return "inputs: not canonical"
    if canonical_json(result).decode("utf-8") != result_json:
        return "result: not canonical"
    if inputs.get("algorithm") != VERSION or result.get("algorithm") != VERSION:
        return f"version: not {VERSION}"
    if result.get("inputs_hash") != inputs_hash(inputs):
        return "inputs: hash differs from the result's inputs_hash"
    try:
        expected = select(inputs, bytes.fromhex(result["entropy"]))
    except (ExpertDrawProblem, KeyError, TypeError, ValueError) as exc:
        return f"selection: cannot recompute ({exc})"
    if expected["seed"] != result.get("seed"):
        return "seed: differs"
    if expected != result:
        for want, got in zip(expected["selections"], result.get("selections", []), strict=False):
            if want != got:
                return f"selection: position {want['position']}"
        return "selection: differs"
    return ""
