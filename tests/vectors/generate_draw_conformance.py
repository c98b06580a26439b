"""Regenerates ``draw-conformance.json``: the byte-level details a re-implementation of the draw needs
beside ``draw-v1.json`` and ``draw-v2.json`` (docs/DRAW-ALGORITHM.md, "Conformance").

Run ``.venv/bin/python -m tests.vectors.generate_draw_conformance`` from the repository root. The vectors
must never change while the versions they cover stand: ``tests/unit/test_draw_conformance_vectors.py``
fails when the code drifts from them. Inputs are made from SHA-256 of fixed labels (and published drand
quicknet rounds), so regenerating gives the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dualdraw.domain.audit.checkpoints import CheckpointSigner, checkpoint_body
from dualdraw.domain.audit.merkle import leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.algorithm import derive_seed, format_ratio, parse_ratio, set_digest
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    eligible_root,
    exclusions_digest,
    exclusions_root,
    object_leaf_data,
    pool_root,
    salt_for,
)
from dualdraw.domain.draw.coordination import other_level_problem
from dualdraw.domain.draw.entropy import combine, local_commitment, party_commitment
from dualdraw.domain.draw.policy_teams import PlannedObject, PoolMember, TeamRules, teams_for_plan
from dualdraw.domain.draw.qualified_teams import (
    Certificate,
    QualifiedPoolMember,
    qualified_team_rules,
    refuse_unstaffable,
    staffing_shortages,
)
from dualdraw.domain.draw.selection import select_by_strata, selection_size
from dualdraw.domain.draw.strata import codes_by_stratum, fraction_text, manifest_strata, stratum_ratios
from dualdraw.domain.draw.teams import conflict_digest, inspector_pool_digest
from dualdraw.domain.draw.versions import QUALIFIED_DRAW, algorithm_for
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.model import Inspector, Speciality
from dualdraw.service_layer.draw_commit import pool_entry
from tests.vectors.generate_draw_v2 import vector as policy_vector

OUT = Path(__file__).with_name("draw-conformance.json")

# drand quicknet round 3 as published (tests/unit/test_beacon_verification.py says where from).
QUICKNET_ROUND_3 = (
    "b3fab6df720b68cc47175f2c777e86d84187caab5770906f515ff1099cb01e4deaa027075d860823e49477b93c72bd64"
)


def _bytes(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def _code(label: str, n: int) -> str:
    return f"91440{n:03d}" + _bytes(f"{label}/{n}").hex()[:10].upper()


def ratios() -> dict[str, Any]:
    """Decimal text (API, task, plan entry) → exact fraction → manifest ``"p/q"`` → selection sizes."""
    accepted = []
    for text in ["0.05", "0.050", "0.5", "00.5", "1", "1.0", "1.000000", "0.333333", "0.000001", "0.2"]:
        r = parse_ratio(text)
        accepted.append(
            {
                "decimal": text,
                "manifest": fraction_text(r),
                "api": format_ratio(r),
                "sizes": [[n, selection_size(r, n)] for n in (0, 1, 7, 20, 1_000_001)],
            }
        )
    rejected = []
    for text in ["0", "0.0", ".5", "5.", "0.1234567", "1.5", "-0.1", "+0.1", "5e-2", " 0.1", "0,05", "1/20"]:
        try:
            parse_ratio(text)
        except ValueError:
            rejected.append(text)
        else:  # pragma: no cover - the generator refuses to write a vector the code contradicts
            raise AssertionError(f"{text!r} was accepted")
    return {"accepted": accepted, "rejected": rejected}


def set_roots() -> list[dict[str, Any]]:
    """The three input-set roots of §6.1, leaf by leaf, and the roots of empty sets."""
    salt_key = _bytes("conformance salt key")
    entries = [
        EligibleEntry(_code("roots", 0), "all", "B"),
        EligibleEntry(_code("roots", 1), "all", "A"),
        EligibleEntry(_code("roots", 2), "all", "D"),
        EligibleEntry(_code("roots", 3), "all", "C"),
        EligibleEntry(_code("roots", 4), "all", "A"),
    ]
    leaves = []
    for e in entries:
        salt = salt_for(salt_key, e.code)
        data = object_leaf_data(e, salt)
        leaves.append(
            {
                "code": e.code,
                "stratum": e.stratum,
                "risk_class": e.risk_class,
                "salt": salt,
                "leaf_data": data.decode("utf-8"),
                "leaf_hash": leaf_hash(data).hex(),
            }
        )
    pool_lines = [
        '{"badge_number":"SZ-0007","conflicts":[]}',
        '{"badge_number":"SZ-0002","conflicts":["' + entries[1].code + '"]}',
        '{"badge_number":"SZ-0011","conflicts":[]}',
    ]
    pairs = [(_code("roots-excluded", 0), "R-ABNORMAL"), (_code("roots-excluded", 1), "frequency-cap")]
    pair_data = [canonical_json([code, rule]).decode("utf-8") for code, rule in pairs]
    return [
        {
            "set": "eligible",
            "salt_key": salt_key.hex(),
            "leaves": leaves,
            "level0": sorted(leaf["leaf_hash"] for leaf in leaves),
            "root": eligible_root(entries, salt_key),
        },
        {
            "set": "pool",
            "leaves": [
                {"leaf_data": line, "leaf_hash": leaf_hash(line.encode()).hex()} for line in pool_lines
            ],
            "level0": sorted(leaf_hash(line.encode()).hex() for line in pool_lines),
            "root": pool_root(pool_lines),
        },
        {
            "set": "exclusions",
            "leaves": [{"leaf_data": d, "leaf_hash": leaf_hash(d.encode()).hex()} for d in pair_data],
            "level0": sorted(leaf_hash(d.encode()).hex() for d in pair_data),
            "root": exclusions_root(pairs),
            "exclusions_digest": exclusions_digest(pairs),
        },
        {
            "set": "eligible",
            "salt_key": salt_key.hex(),
            "leaves": [],
            "level0": [],
            "root": eligible_root([], salt_key),
        },
        {"set": "pool", "leaves": [], "level0": [], "root": pool_root([])},
        {
            "set": "exclusions",
            "leaves": [],
            "level0": [],
            "root": exclusions_root([]),
            "exclusions_digest": exclusions_digest([]),
        },
    ]


def entropy() -> list[dict[str, Any]]:
    """Each declaration kind, the values supplied, and the entropy, label and seed they give."""
    secrets = {name: _bytes(f"conformance secret/{name}") for name in ("alice", "Bob", "张三")}
    parties = [{"name": name, "commitment": party_commitment(name, s)} for name, s in secrets.items()]
    fallback = {"beacon": "drand-quicknet", "round": 3}
    commit_reveal = {
        "kind": "commit-reveal",
        "parties": parties,
        "reveal_deadline": "2023-08-23T23:00:00+08:00",
        "fallback": fallback,
    }
    local = _bytes("conformance local secret")
    cases: list[tuple[str, dict[str, Any], list[dict[str, str]]]] = [
        (
            "commit-reveal, every party revealed",
            commit_reveal,
            [{"role": "party", "name": n, "value": s.hex()} for n, s in secrets.items()],
        ),
        (
            "commit-reveal, one party missing: the fallback round stands in",
            commit_reveal,
            [{"role": "party", "name": n, "value": s.hex()} for n, s in secrets.items() if n != "张三"]
            + [{"role": "fallback-beacon", "name": "drand-quicknet", "value": QUICKNET_ROUND_3}],
        ),
        (
            "beacon",
            {"kind": "beacon", **fallback},
            [{"role": "beacon", "name": "drand-quicknet", "value": QUICKNET_ROUND_3}],
        ),
        (
            "local secret (development only)",
            {"kind": "local-secret", "commitment": local_commitment(local)},
            [{"role": "local-secret", "name": "local", "value": local.hex()}],
        ),
    ]
    out = []
    for name, declaration, supplied in cases:
        value, label = combine(declaration, {(i["role"], i["name"]): i["value"] for i in supplied})
        manifest_hash = hashlib.sha256(f"conformance manifest/{name}".encode()).hexdigest()
        out.append(
            {
                "name": name,
                "declaration": declaration,
                "supplied": supplied,
                "entropy": value.hex(),
                "entropy_source": label,
                "manifest_hash": manifest_hash,
                "seed": derive_seed(manifest_hash, value).hex(),
            }
        )
    return out


def pool_lines() -> dict[str, Any]:
    """The pool line of each version, with the pool's digests and root."""
    eligible = [_code("pool", n) for n in range(3)]
    food = (Speciality("food"),)
    inspectors = [
        Inspector(
            "SZ-0002", "", "d", "", food, conflicts=frozenset({eligible[2], eligible[0], _code("other", 9)})
        ),
        Inspector("SZ-0010", "", "d", "", food),
        Inspector("SZ-0001", "", "d", "", food, conflicts=frozenset({eligible[1]})),
    ]
    v1 = [pool_entry(i, set(eligible)) for i in inspectors]
    members = [
        PoolMember("SZ-0002", "市局", "一所", True, frozenset({eligible[2], eligible[0]}), frozenset()),
        PoolMember("SZ-0010", "市局", "", False, frozenset(), frozenset({eligible[1]})),
        PoolMember("NS-0001", "north", "office-1", True),
    ]
    v2 = [m.line() for m in members]
    qualified = [
        QualifiedPoolMember(
            "SZ-0002",
            "市局",
            "一所",
            Certificate("food", "2024-03-01"),
            frozenset({eligible[2], eligible[0]}),
        ),
        QualifiedPoolMember("SZ-0010", "市局", "", None, frozenset(), frozenset({eligible[1]})),
        QualifiedPoolMember("NS-0001", "north", "office-1", Certificate("food", None)),
    ]
    v3 = [m.line() for m in qualified]
    return {
        "eligible": eligible,
        "dualdraw-draw/1": {
            "lines": v1,
            "pool_digest": inspector_pool_digest(i.badge_number for i in inspectors),
            "conflict_digest": conflict_digest(inspectors, eligible),
            "pool_root": pool_root(v1),
        },
        "dualdraw-draw/2": {
            "lines": v2,
            "pool_digest": inspector_pool_digest(m.badge_number for m in members),
            "conflict_digest": set_digest(f"{m.badge_number}\t{c}" for m in members for c in m.conflicts),
            "pool_root": pool_root(v2),
        },
        "dualdraw-draw/3": {
            "lines": v3,
            "pool_digest": inspector_pool_digest(m.badge_number for m in qualified),
            "conflict_digest": set_digest(f"{m.badge_number}\t{c}" for m in qualified for c in m.conflicts),
            "pool_root": pool_root(v3),
        },
    }


def strata() -> list[dict[str, Any]]:
    """The manifest's ``objects.strata``: a class ratio without eligible objects makes no stratum."""
    entries = [EligibleEntry(_code("strata", n), s, s) for n, s in enumerate("BBDB")]
    ratios = {
        "A": parse_ratio("0.5"),
        "B": parse_ratio("0.05"),
        "C": parse_ratio("1"),
        "D": parse_ratio("0.3"),
    }
    return [
        {
            "eligible": [[e.code, e.stratum] for e in entries],
            "ratios": {k: fraction_text(v) for k, v in ratios.items()},
            "manifest_strata": manifest_strata(entries, ratios),
        }
    ]


def policy_teams() -> list[dict[str, Any]]:
    """``dualdraw-draw/2`` teams beyond draw-v2.json: non-ASCII department ids, unqualified members behind
    the leader, a cooperating department."""
    city = "市场监管局"
    return [
        policy_vector(
            "department ids in UTF-8, unqualified members behind the leader",
            classes="CCCCC",
            ratios={"C": "1/1"},
            raised={},
            departments=[city],
            central=False,
            pool_spec=[(f"SZ{k}", city, k % 3 == 1) for k in range(6)]
            + [(f"WJ{k}", "卫健委", False) for k in range(3)],
            team_size=3,
            cooperating=["卫健委"],
        ),
    ]


def workload_cap() -> dict[str, Any]:
    """A workload cap never changes a team that can be formed (free(h) is sorted by load first); it only
    refuses a draw whose team would need an inspector already at the cap. Same inputs, cap 0 and cap 2."""
    codes = [_code("cap", n) for n in range(3)]
    conflicts = {"C3": set(codes), "C4": set(codes[:2])}
    pool = [
        PoolMember(b, "city", "", True, frozenset(conflicts.get(b, ()))).line()
        for b in ("C1", "C2", "C3", "C4")
    ]
    seed = derive_seed(hashlib.sha256(b"conformance workload cap").hexdigest(), _bytes("cap entropy"))
    objects = [PlannedObject(c, "city", "") for c in codes]
    members = [PoolMember.from_line(line) for line in pool]
    uncapped = teams_for_plan(seed, objects, members, TeamRules(team_size=2))
    try:
        teams_for_plan(seed, objects, members, TeamRules(team_size=2, workload_cap=2))
    except FailedPrecondition as exc:
        failure = {"reason": exc.reason, "metadata": dict(exc.metadata)}
    else:  # pragma: no cover - the generator refuses to write a vector the code contradicts
        raise AssertionError("the capped draw was expected to fail")
    return {
        "seed": seed.hex(),
        "objects": codes,
        "department_id": "city",
        "pool": pool,
        "team_size": 2,
        "teams_without_cap": [[m.badge_number for m in t] for t in uncapped],
        "workload_cap": 2,
        "failure_with_cap": failure,
    }


AS_OF = "2024-03-01"
CERTIFICATES = {
    "valid": Certificate("special_equipment", "2024-12-31"),
    "expires on the draw date": Certificate("special_equipment", AS_OF),
    "expired": Certificate("special_equipment", "2024-02-29"),
    "no expiry": Certificate("special_equipment", None),
    "other line": Certificate("food", None),
    "none": None,
    "fire": Certificate("fire_safety", "2025-06-30"),
    "fire expired": Certificate("fire_safety", "2023-12-31"),
}


def qualified_vector(
    name: str,
    *,
    classes: str,
    pool_spec: list[tuple[str, str, str]],
    team_size: int,
    assistant: bool,
    cooperating_lines: dict[str, str],
    cross_office: bool = False,
    workload_cap: int = 0,
) -> dict[str, Any]:
    """One ``dualdraw-draw/3`` draw: the frozen inputs a stranger needs and the assignments, or the refusal
    that comes before the entropy (``failure``)."""
    codes = [_code(name, i) for i in range(len(classes))]
    entries = [EligibleEntry(c, k, k) for c, k in zip(codes, classes, strict=True)]
    plan = [[c, "市场监管局", f"office-{i % 2}"] for i, c in enumerate(codes)]
    pool = [
        QualifiedPoolMember(
            badge,
            dept,
            f"office-{k % 2}",
            CERTIFICATES[cert],
            frozenset({codes[k % len(codes)]}) if k % 5 == 0 else frozenset(),
            frozenset({codes[(k + 1) % len(codes)]}) if k % 7 == 3 else frozenset(),
        )
        for k, (badge, dept, cert) in enumerate(pool_spec)
    ]
    lines = sorted((m.line() for m in pool), key=lambda line: json.loads(line)["badge_number"])
    manifest_hash = hashlib.sha256(name.encode("utf-8")).hexdigest()
    entropy = _bytes(f"{name}/entropy")
    seed = derive_seed(manifest_hash, entropy)
    strata = {s: {"count": classes.count(s), "ratio": "1/2"} for s in sorted(set(classes))}
    manifest: dict[str, Any] = {
        "as_of": AS_OF,
        "task": {
            "team_size": team_size,
            "required_speciality": "special_equipment",
            "unqualified_assistant": assistant,
            "policy": {
                "cross_office": cross_office,
                "workload_cap": workload_cap,
                "cooperating_department_ids": sorted(cooperating_lines),
                "cooperating_lines": cooperating_lines,
                "cooperating_team_size": 1,
            },
        },
        "objects": {"strata": strata, "plan": plan},
    }
    out: dict[str, Any] = {
        "name": name,
        "algorithm_version": QUALIFIED_DRAW,
        "manifest_hash": manifest_hash,
        "entropy": entropy.hex(),
        "seed": seed.hex(),
        "as_of": AS_OF,
        "eligible": [{"code": e.code, "stratum": e.stratum} for e in entries],
        "strata_ratios": {s: v["ratio"] for s, v in strata.items()},
        "plan": plan,
        "pool": lines,
        "task": manifest["task"],
    }
    try:
        refuse_unstaffable(
            staffing_shortages(
                [PlannedObject(c, d, o) for c, d, o in plan],
                [QualifiedPoolMember.from_line(line) for line in lines],
                qualified_team_rules(manifest),
            )
        )
    except FailedPrecondition as exc:
        out["failure"] = {"reason": exc.reason, "metadata": dict(exc.metadata)}
        return out
    selected = select_by_strata(seed, codes_by_stratum(entries), stratum_ratios(manifest))
    algorithm = algorithm_for(QUALIFIED_DRAW)
    teams = algorithm.form_teams(seed, selected, lines, manifest, algorithm.manifest_plan(manifest))
    out["assignments"] = [
        {
            "position": k + 1,
            "code": s.credit_code,
            "stratum": s.stratum,
            "ticket": s.ticket_hex,
            "team": [m.badge_number for m in team],
        }
        for k, (s, team) in enumerate(zip(selected, teams, strict=True))
    ]
    return out


def qualified_teams() -> list[dict[str, Any]]:
    """``dualdraw-draw/3``: certificates valid, expiring on the draw date, expired, of another line or none;
    an assistant; a cooperating department with its own line; a department that cannot staff its objects."""
    home = [
        ("SE-01", "valid"),
        ("SE-02", "expired"),
        ("SE-03", "other line"),
        ("SE-04", "expires on the draw date"),
        ("SE-05", "none"),
        ("SE-06", "no expiry"),
        ("SE-07", "valid"),
        ("SE-08", "expired"),
        ("SE-09", "valid"),
        ("SE-10", "valid"),
        ("SE-11", "no expiry"),
        ("SE-12", "other line"),
    ]
    city = [(b, "市场监管局", c) for b, c in home]
    fire = [("XF-1", "消防救援", "fire"), ("XF-2", "消防救援", "fire expired"), ("XF-3", "消防救援", "valid")]
    fire += [("XF-4", "消防救援", "fire")]
    return [
        qualified_vector(
            "every member qualified",
            classes="BBBBCCCC",
            pool_spec=city,
            team_size=3,
            assistant=False,
            cooperating_lines={},
        ),
        qualified_vector(
            "one unqualified assistant allowed, a cooperating line, cross-office, a workload cap",
            classes="BBBBCCCC",
            pool_spec=city + fire,
            team_size=3,
            assistant=True,
            cooperating_lines={"消防救援": "fire_safety"},
            cross_office=True,
            workload_cap=3,
        ),
        qualified_vector(
            "refused before the entropy: too few qualified",
            classes="BBCC",
            pool_spec=city[:6],
            team_size=3,
            assistant=False,
            cooperating_lines={},
        ),
    ]


def checkpoint_note() -> dict[str, Any]:
    """A checkpoint signed both ways (§13) with a fixed Ed25519 key (signatures are deterministic)."""
    private = _bytes("conformance audit key")
    signer = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(private))
    root_hex = _bytes("conformance tree root").hex()
    checkpoint = signer.sign(5, root_hex)
    return {
        "private_key": private.hex(),
        "public_key": signer.public_key,
        "key_id": signer.key_id,
        "tree_size": 5,
        "root_hash": root_hex,
        "body": checkpoint_body(5, root_hex).decode("ascii"),
        "signature": checkpoint.signature,
        "note": checkpoint.note,
        "note_verifier_key": signer.note_verifier_key,
    }


def manifest_keys() -> list[dict[str, Any]]:
    """Where the planned-draw keys sit in a canonical manifest (a fragment: the other keys as in §2.1)."""
    out = []
    for name, extra_task, extra in [
        ("outside a plan", {}, {}),
        ("planned", {"plan": {"plan_id": "p-2024-sz", "version": 2, "entry_id": "e-food", "period": 1}}, {}),
        (
            "rehearsal",
            {"plan": {"plan_id": "p-2024-sz", "version": 2, "entry_id": "e-food", "period": 1}},
            {"rehearsal": True},
        ),
    ]:
        manifest = {
            "algorithm_version": "dualdraw-draw/1",
            "as_of": dt.date(2024, 3, 1).isoformat(),
            "task": {"id": "t-1", "ratio": "1/20", "team_size": 2, **extra_task},
            **extra,
        }
        text = canonical_json(manifest)
        out.append(
            {
                "name": name,
                "manifest": manifest,
                "manifest_json": text.decode(),
                "manifest_hash": hashlib.sha256(text).hexdigest(),
            }
        )
    return out


def other_level() -> list[dict[str, Any]]:
    """Objects another level drew (§14.6): where the keys sit in a canonical manifest (a fragment), and the
    verdict of checking ``objects.other_level`` against the exclusion rows (``None``: consistent)."""
    a, b, c = (_code("other-level", n) for n in range(3))
    out = []
    for name, handling, listed, pairs in [
        ("left to the other draw", "exclude", [[a, "d-city"], [b, "d-city"], [b, "d-prov"]],
         [[a, "drawn-by-other-level"], [b, "drawn-by-other-level"], [c, "statutory.x"]]),
        ("joined", "join", [[a, "d-prov"]], [[a, "joined-to-other-level"]]),
        ("nothing drawn elsewhere", "exclude", [], [[c, "frequency-cap"]]),
        ("a listed object without its exclusion", "exclude", [[a, "d-city"], [c, "d-city"]],
         [[a, "drawn-by-other-level"], [b, "drawn-by-other-level"]]),
        ("the rule id of the other handling", "join", [[a, "d-city"]], [[a, "drawn-by-other-level"]]),
        ("not sorted", "exclude", [[b, "d-city"], [a, "d-city"]],
         [[a, "drawn-by-other-level"], [b, "drawn-by-other-level"]]),
    ]:  # fmt: skip
        by_rule: dict[str, int] = {}
        for _, rule in pairs:
            by_rule[rule] = by_rule.get(rule, 0) + 1
        manifest = {
            "objects": {"exclusions_by_rule": by_rule, "other_level": listed},
            "task": {"policy": {"other_level": handling}},
        }
        text = canonical_json(manifest)
        out.append(
            {
                "name": name,
                "manifest": manifest,
                "manifest_json": text.decode(),
                "manifest_hash": hashlib.sha256(text).hexdigest(),
                "exclusions": pairs,
                "problem": other_level_problem(manifest, [(x, r) for x, r in pairs]),
            }
        )
    return out


def vectors() -> dict[str, Any]:
    return {
        "ratios": ratios(),
        "set_roots": set_roots(),
        "entropy": entropy(),
        "pool_lines": pool_lines(),
        "strata": strata(),
        "policy_teams": policy_teams(),
        "qualified_teams": qualified_teams(),
        "workload_cap": workload_cap(),
        "checkpoint_note": checkpoint_note(),
        "manifest_keys": manifest_keys(),
        "other_level": other_level(),
    }


def render() -> str:
    return json.dumps(vectors(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
