"""The offline verifier: ``dualdraw verify BUNDLE`` re-checks a draw bundle with no server and no database.

It imports no SQL and no gRPC code: only the pure draw algorithm, the Merkle and checkpoint code and
``cryptography``. Every byte of the bundle is accounted for: the file must be canonical JSON with exactly
the expected fields, and every value is recomputed or checked against a hash, a Merkle proof or the signed
checkpoint. The first difference is reported by name (docs/DRAW-ALGORITHM.md §12).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.merkle import leaf_hash, verify_inclusion
from dualdraw.domain.canonical_json import canonical_json, loads_proving_canonical, sha256_hex
from dualdraw.domain.draw.algorithm import (
    ALGORITHM_VERSION,
    Selected,
    derive_seed,
    eligible_digest,
    object_ticket,
    select_objects,
    selection_size,
    set_digest,
    ticket_hex,
)
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    exclusions_root,
    object_commitment,
    pool_root,
    salted_leaf_hashes,
    set_root,
)
from dualdraw.domain.draw.entropy import EntropyProblem, combine, expected_inputs
from dualdraw.domain.draw.policy_teams import (
    ALGORITHM_VERSION_2,
    PoolMember,
    parse_fraction,
    substitution_pool_v2,
    teams_v2,
)
from dualdraw.domain.draw.substitution import pick_replacement, sub_seed
from dualdraw.domain.draw.teams import form_teams
from dualdraw.domain.errors import DomainError
from dualdraw.domain.model import Inspector, Speciality
from dualdraw.runtime import collection_pause

BUNDLE_FORMAT = "dualdraw-bundle/1"
MANIFEST_VERSION = "dualdraw-manifest/2"
MANIFEST_VERSIONS = {ALGORITHM_VERSION: MANIFEST_VERSION, ALGORITHM_VERSION_2: "dualdraw-manifest/3"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")


class Mismatch(Exception):
    """The first difference found; the message names it."""


@dataclass
class Report:
    ok: bool
    problem: str = ""
    notes: list[str] = field(default_factory=list)


def _need(condition: bool, problem: str) -> None:
    if not condition:
        raise Mismatch(problem)


def _obj(value: Any, keys: Collection[str], where: str) -> dict[str, Any]:
    _need(isinstance(value, dict), f"{where}: expected an object")
    got = set(value)
    _need(got == set(keys), f"{where}: fields {sorted(got ^ set(keys))} are unexpected or missing")
    return value  # type: ignore[no-any-return]


def _list(value: Any, where: str) -> list[Any]:
    _need(isinstance(value, list), f"{where}: expected a list")
    return value  # type: ignore[no-any-return]


def _str(value: Any, where: str) -> str:
    _need(isinstance(value, str), f"{where}: expected a string")
    return value  # type: ignore[no-any-return]


def _int(value: Any, where: str) -> int:
    _need(isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer")
    return value  # type: ignore[no-any-return]


def _hex64(value: Any, where: str) -> str:
    _need(isinstance(value, str) and bool(_HEX64.fullmatch(value)), f"{where}: not 64 lower-case hex digits")
    return value  # type: ignore[no-any-return]


def _hex(value: Any, where: str) -> str:
    _need(isinstance(value, str) and bool(_HEX.fullmatch(value)), f"{where}: not lower-case hex")
    return value  # type: ignore[no-any-return]


def _pool_inspector(line: str) -> Inspector:
    entry = json.loads(line)
    return Inspector(
        entry["badge_number"], "", "", "", (Speciality("pool"),), True, frozenset(entry["conflicts"])
    )


_ELIGIBLE_FIELDS = ("code", "stratum", "risk_class", "salt")
_HEX_RUN = re.compile(r"[0-9a-f]*")


def _eligible_entries(rows: list[Any]) -> tuple[list[EligibleEntry], list[str]]:
    """The entries and salts of a full bundle's eligible rows, each row checked for its exact fields and
    types. Checked column by column (C-level passes, the 1M-row case); when that finds anything wrong, row
    by row, so that the first bad row and field are named."""
    fields = set(_ELIGIBLE_FIELDS)
    if all(type(row) is dict and row.keys() == fields for row in rows):
        codes, strata, classes, salts = ([row[name] for row in rows] for name in _ELIGIBLE_FIELDS)
        texts = (codes, strata, classes, salts)
        if (
            all(set(map(type, column)) <= {str} for column in texts)
            and all(len(salt) == 64 for salt in salts)
            and _HEX_RUN.fullmatch("".join(salts))
        ):
            return list(map(EligibleEntry, codes, strata, classes)), salts
    entries, salts = [], []
    for n, row in enumerate(rows):
        r = _obj(row, _ELIGIBLE_FIELDS, f"eligible[{n}]")
        entries.append(
            EligibleEntry(
                _str(r["code"], f"eligible[{n}].code"),
                _str(r["stratum"], f"eligible[{n}].stratum"),
                _str(r["risk_class"], f"eligible[{n}].risk_class"),
            )
        )
        salts.append(_hex64(r["salt"], f"eligible[{n}].salt"))
    return entries, salts


@dataclass(frozen=True)
class ObjectCheck:
    """An object checking its own ticket in a (public) bundle: its code, risk class and salt."""

    code: str
    risk_class: str
    salt: str


def verify_bundle(
    raw: bytes, *, trusted_keys: Collection[str] | None = None, own_object: ObjectCheck | None = None
) -> Report:
    """Verifies a bundle; ``Report.ok`` is MATCH, otherwise ``problem`` names the first difference."""
    notes: list[str] = []
    try:
        with collection_pause.paused():  # a bundle parses into ~10 objects per eligible row, all kept alive
            _verify(raw, trusted_keys, own_object, notes)
    except Mismatch as exc:
        return Report(False, str(exc), notes)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        return Report(False, f"bundle: malformed content ({type(exc).__name__}: {exc})", notes)
    return Report(True, "", notes)


def _verify(
    raw: bytes, trusted_keys: Collection[str] | None, own: ObjectCheck | None, notes: list[str]
) -> None:
    try:
        bundle, proven = loads_proving_canonical(raw.removesuffix(b"\n"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Mismatch(f"bundle: not valid UTF-8 JSON ({exc})") from None
    try:
        canonical = raw if proven and raw.endswith(b"\n") else canonical_json(bundle) + b"\n"
    except (TypeError, ValueError) as exc:
        raise Mismatch(f"bundle: holds values canonical JSON does not allow ({exc})") from None
    if raw != canonical:
        at = next(
            (i for i, (a, b) in enumerate(zip(raw, canonical, strict=False)) if a != b),
            min(len(raw), len(canonical)),
        )
        raise Mismatch(f"bundle: not in canonical form (first difference at byte {at})")
    b = _obj(
        bundle,
        [
            "format",
            "variant",
            "draw",
            "entropy_inputs",
            "eligible",
            "exclusions",
            "pool",
            "assignments",
            "substitutions",
            "log",
        ],
        "bundle",
    )
    _need(b["format"] == BUNDLE_FORMAT, f"bundle.format: expected {BUNDLE_FORMAT}")
    variant = b["variant"]
    _need(variant in ("full", "public"), "bundle.variant: expected full or public")
    d = _obj(
        b["draw"],
        [
            "id",
            "task_id",
            "state",
            "state_reason",
            "manifest_json",
            "manifest_hash",
            "entropy_source",
            "entropy",
            "seed",
        ],
        "draw",
    )
    draw_id = _str(d["id"], "draw.id")
    state = d["state"]
    _need(state in ("committed", "executed", "abandoned"), "draw.state: unknown state")

    # -- manifest ------------------------------------------------------------------------------------
    manifest_json = _str(d["manifest_json"], "draw.manifest_json")
    manifest_hash = _hex64(d["manifest_hash"], "draw.manifest_hash")
    _need(
        sha256_hex(manifest_json.encode("utf-8")) == manifest_hash,
        "draw.manifest_hash: is not SHA-256 of the manifest",
    )
    manifest = json.loads(manifest_json)
    _need(canonical_json(manifest).decode("utf-8") == manifest_json, "manifest: not canonical JSON")
    algorithm = manifest.get("algorithm_version")
    _need(
        algorithm in MANIFEST_VERSIONS,
        f"manifest: algorithm is not one of {', '.join(sorted(MANIFEST_VERSIONS))}",
    )
    v2 = algorithm == ALGORITHM_VERSION_2
    _need(
        manifest.get("manifest_version") == MANIFEST_VERSIONS[algorithm],
        f"manifest: version is not {MANIFEST_VERSIONS[algorithm]}",
    )
    _need(manifest.get("draw_id") == draw_id, "draw.id: differs from the manifest's draw_id")
    _need(manifest["task"]["id"] == d["task_id"], "draw.task_id: differs from the manifest's task")
    numerator, denominator = (int(x) for x in manifest["task"]["ratio"].split("/"))
    ratio = Fraction(numerator, denominator)
    stratum_ratio: dict[str, Fraction] = {
        name: parse_fraction(st["ratio"]) for name, st in manifest["objects"]["strata"].items()
    }
    if not v2:
        _need(set(stratum_ratio) <= {"all"}, "manifest: a dualdraw-draw/1 draw has the one stratum 'all'")
        _need(
            all(r == ratio for r in stratum_ratio.values()), "manifest: the stratum ratio is not the task's"
        )
    declaration = manifest["entropy_source"]
    objects = manifest["objects"]
    inspectors = manifest["inspectors"]

    # -- log: checkpoint, inclusion proofs and the events' content ------------------------------------
    log = _obj(b["log"], ["events", "checkpoint"], "log")
    c = _obj(log["checkpoint"], ["tree_size", "root_hash", "public_key", "signature"], "log.checkpoint")
    checkpoint = Checkpoint(
        _int(c["tree_size"], "log.checkpoint.tree_size"),
        _str(c["root_hash"], "log.checkpoint.root_hash"),
        _str(c["public_key"], "log.checkpoint.public_key"),
        _str(c["signature"], "log.checkpoint.signature"),
    )
    problem = checkpoint.problem()
    _need(problem is None, f"log.checkpoint: {problem}")
    if trusted_keys is not None:
        _need(
            checkpoint.public_key in trusted_keys,
            f"log.checkpoint: signed by untrusted key {checkpoint.key_id}",
        )
    else:
        notes.append(f"checkpoint key {checkpoint.key_id} (pin it with --trusted-key to check who signed)")
    root = bytes.fromhex(checkpoint.root_hash)
    events: list[tuple[int, dict[str, Any], bytes]] = []
    last = 0
    for n, raw_event in enumerate(_list(log["events"], "log.events")):
        where = f"log.events[{n}]"
        e = _obj(raw_event, ["sequence", "leaf_data", "proof"], where)
        seq = _int(e["sequence"], f"{where}.sequence")
        _need(seq > last, f"{where}.sequence: not increasing")
        last = seq
        data = _str(e["leaf_data"], f"{where}.leaf_data").encode("utf-8")
        proof = [bytes.fromhex(_hex64(p, f"{where}.proof")) for p in _list(e["proof"], f"{where}.proof")]
        leaf = leaf_hash(data)
        _need(
            verify_inclusion(seq - 1, checkpoint.tree_size, leaf, proof, root),
            f"{where}: event {seq} is not in the signed log (inclusion proof fails)",
        )
        content = json.loads(data)
        _need(content.get("sequence") == seq, f"{where}: leaf data names another sequence")
        _need(content.get("resource") == f"draws/{draw_id}", f"{where}: event is about another resource")
        events.append((seq, content, leaf))

    def after(content: dict[str, Any]) -> dict[str, Any]:
        return json.loads(content["after_json"]) if content["after_json"] else {}

    actions = [(seq, content["action"], after(content), leaf) for seq, content, leaf in events]
    _need(bool(actions) and actions[0][1] == "draw.commit", "log: the draw's first event is not its commit")
    commit_after = actions[0][2]
    _need(
        commit_after.get("manifest_hash") == manifest_hash,
        "log: the commit event names another manifest hash",
    )
    _need(
        commit_after.get("entropy_source") == declaration,
        "log: the commit event declares another entropy source",
    )
    commit_seq = actions[0][0]

    # -- eligible set, exclusions, pool -------------------------------------------------------------------
    eligible_rows = _list(b["eligible"], "eligible")
    strata_counts: Counter[str] = Counter()
    codes_by_stratum: dict[str, list[str]] = {}
    public_tickets: dict[str, list[str]] = {}
    if variant == "full":
        entries, salts = _eligible_entries(eligible_rows)
        leaves = salted_leaf_hashes(entries, salts)
        for entry in entries:
            codes_by_stratum.setdefault(entry.stratum, []).append(entry.code)
        strata_counts.update({stratum: len(codes) for stratum, codes in codes_by_stratum.items()})
        all_codes = [code for codes in codes_by_stratum.values() for code in codes]
        if v2:
            raised = {code: (old, new) for code, old, new in manifest["objects"]["raised"]}
            for n, entry in enumerate(entries):
                if entry.stratum == entry.risk_class and entry.code not in raised:
                    continue
                old, new = raised.get(entry.code, (entry.risk_class, entry.risk_class))
                _need(
                    old == entry.risk_class and entry.stratum == new,
                    f"eligible[{n}]: stratum {entry.stratum} is not its class {entry.risk_class} "
                    "or the class the manifest raised it to",
                )
            _need(
                set_digest(code for code, _, _ in manifest["objects"]["plan"]) == objects["eligible_digest"],
                "manifest: the plan does not cover exactly the eligible objects",
            )
        _need(
            set_root(leaves) == objects["eligible_root"],
            "eligible: the set does not match the manifest's eligible_root",
        )
        try:
            digest = eligible_digest(all_codes)
        except ValueError as exc:
            raise Mismatch(f"eligible: {exc}") from None
        _need(
            digest == objects["eligible_digest"],
            "eligible: the codes do not match the manifest's eligible_digest",
        )
        pairs = []
        for n, row in enumerate(_list(b["exclusions"], "exclusions")):
            pair = _list(row, f"exclusions[{n}]")
            _need(
                len(pair) == 2 and all(isinstance(x, str) for x in pair),
                f"exclusions[{n}]: expected [code, rule_id]",
            )
            pairs.append((pair[0], pair[1]))
        _need(
            exclusions_root(pairs) == objects["exclusions_root"],
            "exclusions: do not match the manifest's exclusions_root",
        )
        _need(
            dict(Counter(r for _, r in pairs)) == objects["exclusions_by_rule"],
            "exclusions: counts per rule differ",
        )
        _need(
            not set(all_codes) & {c for c, _ in pairs},
            "exclusions: an excluded object is in the eligible set",
        )
    else:
        _need(b["exclusions"] == [], "exclusions: a public bundle lists none")
        commitments = []
        for n, row in enumerate(eligible_rows):
            r = _obj(row, ["commitment", "stratum", "ticket"], f"eligible[{n}]")
            commitments.append(bytes.fromhex(_hex64(r["commitment"], f"eligible[{n}].commitment")))
            stratum = _str(r["stratum"], f"eligible[{n}].stratum")
            strata_counts[stratum] += 1
            if state == "executed" or d["seed"]:
                public_tickets.setdefault(stratum, []).append(_hex64(r["ticket"], f"eligible[{n}].ticket"))
            else:
                _need(r["ticket"] == "", f"eligible[{n}].ticket: a draw without seed has no tickets")
        _need(commitments == sorted(commitments), "eligible: commitments are not in ascending order")
        _need(
            set_root(commitments) == objects["eligible_root"],
            "eligible: the commitments do not match the manifest's eligible_root",
        )
        notes.append(
            "public bundle: unselected objects are salted commitments; each object can check its own ticket"
        )
    expected_strata = {name: s["count"] for name, s in objects["strata"].items()}
    _need(dict(strata_counts) == expected_strata, "eligible: per-stratum counts differ from the manifest")
    _need(sum(strata_counts.values()) == objects["eligible"], "eligible: count differs from the manifest")

    pool_lines = [_str(line, f"pool[{n}]") for n, line in enumerate(_list(b["pool"], "pool"))]
    _need(pool_root(pool_lines) == inspectors["pool_root"], "pool: does not match the manifest's pool_root")
    pool = [_pool_inspector(line) for line in pool_lines]
    if v2:
        members = [PoolMember.from_line(line) for line in pool_lines]
        _need(
            all(m.line() == line for m, line in zip(members, pool_lines, strict=True)),
            "pool: lines not canonical",
        )
    _need(
        set_digest(i.badge_number for i in pool) == inspectors["pool_digest"],
        "pool: badges do not match pool_digest",
    )
    conflicts = set_digest(f"{i.badge_number}\t{code}" for i in pool for code in i.conflicts)
    _need(conflicts == inspectors["conflict_digest"], "pool: declared conflicts do not match conflict_digest")

    # -- entropy and seed --------------------------------------------------------------------------------
    inputs: dict[tuple[str, str], str] = {}
    declared = {(i.role, i.name): i.commitment for i in expected_inputs(declaration)}
    listed = {}
    for n, row in enumerate(_list(b["entropy_inputs"], "entropy_inputs")):
        r = _obj(row, ["role", "name", "commitment", "value"], f"entropy_inputs[{n}]")
        key = (_str(r["role"], f"entropy_inputs[{n}].role"), _str(r["name"], f"entropy_inputs[{n}].name"))
        listed[key] = _str(r["commitment"], f"entropy_inputs[{n}].commitment")
        inputs[key] = _hex(r["value"], f"entropy_inputs[{n}].value")
    _need(listed == declared, "entropy_inputs: differ from the manifest's declared entropy source")
    supplied_events = {
        (a.get("party") and ("party", a["party"])) or ("beacon-event", a.get("beacon")): (seq, a)
        for seq, action, a, _ in actions
        if action in ("draw.reveal", "draw.beacon")
    }
    for (role, name), value in inputs.items():
        if not value or role == "local-secret":
            continue
        event_key = ("party", name) if role == "party" else ("beacon-event", name)
        found = supplied_events.get(event_key)
        _need(found is not None, f"entropy_inputs: {role} {name} has no event in the log")
        seq, a = found  # type: ignore[misc]
        _need(seq > commit_seq, f"entropy_inputs: {role} {name} was supplied before the commit")
        _need(
            a.get("secret", a.get("value")) == value,
            f"entropy_inputs: {role} {name} differs from its logged value",
        )
    executed = bool(d["seed"])
    if declaration["kind"] == "local-secret":
        notes.append(
            "entropy: a local secret committed by hash (demo/test source: the operator could know it)"
        )
    if not executed:
        _need(
            d["seed"] == d["entropy"] == d["entropy_source"] == "", "draw: a draw without seed has no entropy"
        )
        _need(
            b["assignments"] == [] and b["substitutions"] == [],
            "draw: a draw without seed has no assignments",
        )
        _need(state in ("committed", "abandoned"), "draw.state: executed without a seed")
        _check_abandon(state, d, actions)
        notes.append(f"draw {draw_id} is {state}; nothing drawn")
        return
    try:
        entropy, label = combine(declaration, inputs)
    except EntropyProblem as exc:
        raise Mismatch(f"entropy: {exc}") from None
    _need(entropy.hex() == d["entropy"], "draw.entropy: differs from the combination of the entropy inputs")
    _need(label == d["entropy_source"], "draw.entropy_source: differs from what the inputs give")
    seed = derive_seed(manifest_hash, entropy)
    _need(seed.hex() == d["seed"], "draw.seed: is not SHA-256(tag ‖ manifest hash ‖ entropy)")
    execute = next(((seq, a) for seq, action, a, _ in actions if action == "draw.execute"), None)
    _need(execute is not None, "log: the draw has no execute event")
    assert execute is not None
    _need(
        execute[0] > commit_seq
        and execute[1].get("seed") == d["seed"]
        and execute[1].get("entropy") == d["entropy"],
        "log: the execute event names another seed or entropy",
    )

    # -- selection ----------------------------------------------------------------------------------------
    rows = _list(b["assignments"], "assignments")
    stored = []
    for n, row in enumerate(rows):
        r = _obj(row, ["position", "code", "stratum", "ticket", "team"], f"assignments[{n}]")
        _need(r["position"] == n + 1, f"assignments[{n}].position: expected {n + 1}")
        team = [_str(x, f"assignments[{n}].team") for x in _list(r["team"], f"assignments[{n}].team")]
        stored.append((_str(r["code"], f"assignments[{n}].code"), r["stratum"], r["ticket"], team))
    _need(
        [code for code, *_ in stored] == execute[1].get("selected"),
        "log: the execute event lists other selected objects",
    )
    if variant == "full":
        selected = [
            s
            for stratum in sorted(codes_by_stratum, key=lambda s: s.encode("utf-8"))
            for s in select_objects(seed, codes_by_stratum[stratum], stratum_ratio[stratum], stratum)
        ]
        for n, (s, (code, stratum, ticket, _)) in enumerate(zip(selected, stored, strict=False)):
            _need(
                (s.credit_code, s.stratum, s.ticket_hex) == (code, stratum, ticket),
                f"assignments[{n}]: position {n + 1} should be {s.credit_code} "
                f"(ticket {s.ticket_hex[:12]}…), the bundle says {code}",
            )
        _need(
            len(selected) == len(stored),
            f"assignments: {len(stored)} listed, the draw selects {len(selected)}",
        )
        codes = [s.credit_code for s in selected]
    else:
        n_stored = 0
        for stratum in sorted(public_tickets, key=lambda s: s.encode("utf-8")):
            tickets = sorted(public_tickets[stratum])
            size = selection_size(stratum_ratio[stratum], len(tickets))
            mine = stored[n_stored : n_stored + size]
            _need(len(mine) == size, f"assignments: stratum {stratum} should have {size} selected objects")
            for k, (code, st, ticket, _) in enumerate(mine):
                _need(
                    st == stratum and ticket == tickets[k],
                    f"assignments[{n_stored + k}]: ticket is not the {k + 1}. lowest of {stratum}",
                )
                _need(
                    ticket_hex(object_ticket(seed, stratum, code)) == ticket,
                    f"assignments[{n_stored + k}]: ticket of {code} does not recompute",
                )
            n_stored += size
        _need(n_stored == len(stored), "assignments: more listed than the draw selects")
        codes = [code for code, *_ in stored]

    # -- teams and substitutions --------------------------------------------------------------------------
    try:
        if v2:
            formed = teams_v2(
                seed, [Selected(code, ticket, st) for code, st, ticket, _ in stored], pool_lines, manifest
            )
        else:
            formed = form_teams(seed, codes, pool, manifest["task"]["team_size"], _as_of(manifest), "pool")
    except DomainError as exc:
        raise Mismatch(f"assignments: teams cannot be formed ({exc})") from None
    teams = [[m.badge_number for m in t] for t in formed]
    conflicts_by_badge = {i.badge_number: i.conflicts for i in pool}
    removed: dict[int, set[str]] = {}
    for n, row in enumerate(_list(b["substitutions"], "substitutions")):
        r = _obj(
            row,
            [
                "id",
                "position",
                "removed_badge",
                "replacement_badge",
                "reason_code",
                "evidence_hash",
                "entropy_source",
                "entropy",
                "event_leaf_hash",
                "state",
            ],
            f"substitutions[{n}]",
        )
        request = next(
            (
                (seq, a, leaf)
                for seq, action, a, leaf in actions
                if action == "draw.substitution.request" and a.get("substitution_id") == r["id"]
            ),
            None,
        )
        _need(request is not None, f"substitutions[{n}]: {r['id']} has no request event in the log")
        assert request is not None
        seq, a, leaf = request
        for name in ("position", "removed_badge", "reason_code", "evidence_hash", "entropy_source"):
            _need(a.get(name) == r[name], f"substitutions[{n}].{name}: differs from the logged request")
        _need(r["event_leaf_hash"] == leaf.hex(), f"substitutions[{n}]: entropy is bound to another event")
        if r["state"] != "executed":
            _need(
                r["state"] == "requested" and r["replacement_badge"] == r["entropy"] == "",
                f"substitutions[{n}]: bad state",
            )
            continue
        done = next(
            (
                a2
                for _, action, a2, _ in actions
                if action == "draw.substitution.execute" and a2.get("substitution_id") == r["id"]
            ),
            None,
        )
        _need(
            done is not None
            and done.get("replacement_badge") == r["replacement_badge"]
            and done.get("entropy") == r["entropy"],
            f"substitutions[{n}]: has no matching execute event in the log",
        )
        entropy_sub = bytes.fromhex(_hex(r["entropy"], f"substitutions[{n}].entropy"))
        src = r["entropy_source"]
        if src.get("kind") == "local-secret":
            _need(
                sha256_hex(entropy_sub) == src.get("commitment"),
                f"substitutions[{n}]: entropy does not open its commitment",
            )
        position = r["position"]
        _need(
            isinstance(position, int) and 1 <= position <= len(teams),
            f"substitutions[{n}].position: no such position",
        )
        team = teams[position - 1]
        _need(r["removed_badge"] in team, f"substitutions[{n}]: {r['removed_badge']} was not on the team")
        loads = Counter(x for t in teams for x in t)
        before = removed.setdefault(position, set())
        before.add(r["removed_badge"])
        candidates: dict[str, Any] = dict(conflicts_by_badge)
        if v2:
            original_leader = team[0] == r["removed_badge"]
            candidates = dict(
                substitution_pool_v2(
                    pool_lines, manifest, codes[position - 1], r["removed_badge"], original_leader
                )
            )
        try:
            replacement = pick_replacement(
                sub_seed(seed, leaf, entropy_sub),
                team,
                candidates,
                codes[position - 1],
                loads,
                before,
            )
        except DomainError as exc:
            raise Mismatch(f"substitutions[{n}]: {exc}") from None
        _need(
            replacement == r["replacement_badge"],
            f"substitutions[{n}]: the replacement should be {replacement}",
        )
        team[team.index(r["removed_badge"])] = replacement
    for n, (code, _, _, team) in enumerate(stored):
        _need(
            team == teams[n],
            f"assignments[{n}].team: position {n + 1} ({code}) should be {teams[n]}, the bundle "
            f"says {team} (a team change without its substitution event?)",
        )
    _check_abandon(state, d, actions)
    if own is not None:
        _check_own(own, variant, eligible_rows, seed, stored, notes)


def _as_of(manifest: dict[str, Any]) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(manifest["as_of"])


def _check_abandon(
    state: str, d: dict[str, Any], actions: Sequence[tuple[int, str, dict[str, Any], bytes]]
) -> None:
    abandon = next((a for _, action, a, _ in actions if action == "draw.abandon"), None)
    if state == "abandoned":
        _need(
            abandon is not None and abandon.get("reason") == d["state_reason"],
            "draw.state: abandoned without its logged reason",
        )
    else:
        _need(abandon is None and d["state_reason"] == "", "draw.state: the log says the draw was abandoned")


def _check_own(
    own: ObjectCheck, variant: str, rows: list[Any], seed: bytes, stored: list[Any], notes: list[str]
) -> None:
    commitments = {
        object_commitment(EligibleEntry(own.code, stratum, own.risk_class), own.salt)
        for stratum in ("all", "A", "B", "C", "D")
    }
    if variant == "full":
        found = next((r for r in rows if r["code"] == own.code), None)
        _need(
            found is not None and found["salt"] == own.salt and found["risk_class"] == own.risk_class,
            f"object {own.code}: not in the eligible set with this salt and risk class",
        )
    else:
        found = next((r for r in rows if r["commitment"] in commitments), None)
        _need(found is not None, f"object {own.code}: its commitment is not in the eligible set")
        assert found is not None
        _need(
            found["ticket"] == ticket_hex(object_ticket(seed, found["stratum"], own.code)),
            f"object {own.code}: the listed ticket is not its ticket",
        )
    selected = any(code == own.code for code, *_ in stored)
    notes.append(f"object {own.code}: ticket checked; {'selected' if selected else 'not selected'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dualdraw verify", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, metavar="BUNDLE")
    parser.add_argument("--trusted-key", action="append", metavar="HEX", help="pin a checkpoint public key")
    parser.add_argument("--object", metavar="CREDIT_CODE", help="check this object's own ticket")
    parser.add_argument("--salt", help="with --object: the object's salt")
    parser.add_argument("--risk-class", help="with --object: the object's risk class")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    raw = args.bundle.read_bytes()
    own = ObjectCheck(args.object, args.risk_class or "", args.salt or "") if args.object else None
    report = verify_bundle(raw, trusted_keys=args.trusted_key, own_object=own)
    for note in report.notes:
        print(f"note: {note}")
    elapsed = time.perf_counter() - started
    if report.ok:
        print(f"MATCH ({elapsed:.2f}s)")
        return 0
    print(f"MISMATCH: {report.problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
