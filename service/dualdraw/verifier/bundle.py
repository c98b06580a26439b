"""The offline verifier: ``dualdraw verify BUNDLE`` re-checks a draw bundle with no server and no database.

It imports no SQL and no gRPC code: only the pure draw algorithm, the Merkle and checkpoint code and
``cryptography``. Every byte of the bundle is accounted for: the file must be canonical JSON with exactly
the expected fields, and every value is recomputed or checked against a hash, a Merkle proof or the signed
checkpoint. The first difference is reported by name (docs/DRAW-ALGORITHM.md §12).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.merkle import leaf_hash, verify_inclusion
from dualdraw.domain.canonical_json import canonical_json, loads_proving_canonical, sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest, set_digest
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    exclusions_root,
    object_commitment,
    pool_root,
    salted_leaf_hashes,
    set_root,
)
from dualdraw.domain.draw.coordination import other_level_problem
from dualdraw.domain.draw.entropy import (
    EntropyProblem,
    check_rounds_after,
    combine,
    expected_inputs,
    validate_declaration,
)
from dualdraw.domain.draw.selection import Selected, object_ticket, selection_size, ticket_hex
from dualdraw.domain.draw.strata import DEFAULT_STRATUM, stratum_ratios
from dualdraw.domain.draw.versions import (
    ALGORITHMS,
    PLAIN_DRAW,
    UnknownDrawAlgorithm,
    algorithm_for,
    pool_inspector,
)
from dualdraw.domain.errors import DomainError
from dualdraw.runtime import collection_pause
from dualdraw.verifier.fields import (
    Mismatch,
    eligible_entries,
    hex64,
    hex_digits,
    integer,
    list_of,
    need,
    obj,
    text,
)
from dualdraw.verifier.substitutions import Replay, replay_substitutions

BUNDLE_FORMAT = "dualdraw-bundle/1"


@dataclass
class Report:
    ok: bool
    problem: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ObjectCheck:
    """An object checking its own ticket in a (public) bundle: its code, risk class and salt."""

    code: str
    risk_class: str
    salt: str


STAGES: Final = ("parse", "manifest", "log", "eligible", "entropy", "selection", "teams")
"""The stages of a verification, in order; ``verify_bundle`` tells ``stage(name)`` as each one starts."""


def verify_bundle(
    raw: bytes,
    *,
    trusted_keys: Collection[str] | None = None,
    own_object: ObjectCheck | None = None,
    stage: Callable[[str], None] | None = None,
) -> Report:
    """Verifies a bundle; ``Report.ok`` is MATCH, otherwise ``problem`` names the first difference."""
    notes: list[str] = []
    try:
        with collection_pause.paused():  # a bundle parses into ~10 objects per eligible row, all kept alive
            _verify(raw, trusted_keys, own_object, notes, stage or (lambda _name: None))
    except Mismatch as exc:
        return Report(False, str(exc), notes)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        return Report(False, f"bundle: malformed content ({type(exc).__name__}: {exc})", notes)
    return Report(True, "", notes)


def _verify(
    raw: bytes,
    trusted_keys: Collection[str] | None,
    own: ObjectCheck | None,
    notes: list[str],
    stage: Callable[[str], None],
) -> None:
    stage("parse")
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
    b = obj(
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
    need(b["format"] == BUNDLE_FORMAT, f"bundle.format: expected {BUNDLE_FORMAT}")
    variant = b["variant"]
    need(variant in ("full", "public"), "bundle.variant: expected full or public")
    d = obj(
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
    draw_id = text(d["id"], "draw.id")
    state = d["state"]
    need(state in ("committed", "executed", "abandoned"), "draw.state: unknown state")

    # -- manifest ------------------------------------------------------------------------------------
    stage("manifest")
    manifest_json = text(d["manifest_json"], "draw.manifest_json")
    manifest_hash = hex64(d["manifest_hash"], "draw.manifest_hash")
    need(
        sha256_hex(manifest_json.encode("utf-8")) == manifest_hash,
        "draw.manifest_hash: is not SHA-256 of the manifest",
    )
    manifest = json.loads(manifest_json)
    need(canonical_json(manifest).decode("utf-8") == manifest_json, "manifest: not canonical JSON")
    try:
        algorithm = algorithm_for(manifest.get("algorithm_version"))
    except UnknownDrawAlgorithm:
        raise Mismatch(f"manifest: algorithm is not one of {', '.join(sorted(ALGORITHMS))}") from None
    need(
        manifest.get("manifest_version") == algorithm.manifest_version,
        f"manifest: version is not {algorithm.manifest_version}",
    )
    need(manifest.get("draw_id") == draw_id, "draw.id: differs from the manifest's draw_id")
    need(manifest["task"]["id"] == d["task_id"], "draw.task_id: differs from the manifest's task")
    _plan_notes(manifest, notes)
    stratum_ratio = stratum_ratios(manifest)
    problem = algorithm.manifest_problem(manifest)
    need(problem is None, problem or "")
    declaration = manifest["entropy_source"]
    try:
        validate_declaration(declaration)
        check_rounds_after(declaration, dt.datetime.fromisoformat(manifest["created_at"]))
    except (EntropyProblem, ValueError, TypeError) as exc:
        raise Mismatch(f"manifest.entropy_source: {exc}") from None
    objects = manifest["objects"]
    inspectors = manifest["inspectors"]

    # -- log: checkpoint, inclusion proofs and the events' content ------------------------------------
    stage("log")
    log = obj(b["log"], ["events", "checkpoint"], "log")
    c = obj(log["checkpoint"], ["tree_size", "root_hash", "public_key", "signature"], "log.checkpoint")
    checkpoint = Checkpoint(
        integer(c["tree_size"], "log.checkpoint.tree_size"),
        text(c["root_hash"], "log.checkpoint.root_hash"),
        text(c["public_key"], "log.checkpoint.public_key"),
        text(c["signature"], "log.checkpoint.signature"),
    )
    problem = checkpoint.problem()
    need(problem is None, f"log.checkpoint: {problem}")
    if trusted_keys is not None:
        need(
            checkpoint.public_key in trusted_keys,
            f"log.checkpoint: signed by untrusted key {checkpoint.key_id}",
        )
    else:
        notes.append(f"checkpoint key {checkpoint.key_id} (pin it with --trusted-key to check who signed)")
    root = bytes.fromhex(checkpoint.root_hash)
    events: list[tuple[int, dict[str, Any], bytes]] = []
    last = 0
    for n, raw_event in enumerate(list_of(log["events"], "log.events")):
        where = f"log.events[{n}]"
        e = obj(raw_event, ["sequence", "leaf_data", "proof"], where)
        seq = integer(e["sequence"], f"{where}.sequence")
        need(seq > last, f"{where}.sequence: not increasing")
        last = seq
        data = text(e["leaf_data"], f"{where}.leaf_data").encode("utf-8")
        proof = [bytes.fromhex(hex64(p, f"{where}.proof")) for p in list_of(e["proof"], f"{where}.proof")]
        leaf = leaf_hash(data)
        need(
            verify_inclusion(seq - 1, checkpoint.tree_size, leaf, proof, root),
            f"{where}: event {seq} is not in the signed log (inclusion proof fails)",
        )
        content = json.loads(data)
        need(content.get("sequence") == seq, f"{where}: leaf data names another sequence")
        need(content.get("resource") == f"draws/{draw_id}", f"{where}: event is about another resource")
        events.append((seq, content, leaf))

    def after(content: dict[str, Any]) -> dict[str, Any]:
        return json.loads(content["after_json"]) if content["after_json"] else {}

    actions = [(seq, content["action"], after(content), leaf) for seq, content, leaf in events]
    logged_at = {seq: str(content.get("occurred_at", "")) for seq, content, _ in events}
    need(bool(actions) and actions[0][1] == "draw.commit", "log: the draw's first event is not its commit")
    commit_after = actions[0][2]
    need(
        commit_after.get("manifest_hash") == manifest_hash,
        "log: the commit event names another manifest hash",
    )
    need(
        commit_after.get("entropy_source") == declaration,
        "log: the commit event declares another entropy source",
    )
    commit_seq = actions[0][0]

    # -- eligible set, exclusions, pool -------------------------------------------------------------------
    stage("eligible")
    eligible_rows = list_of(b["eligible"], "eligible")
    strata_counts: Counter[str] = Counter()
    codes_by_stratum: dict[str, list[str]] = {}
    public_tickets: dict[str, list[str]] = {}
    if variant == "full":
        entries, salts = eligible_entries(eligible_rows)
        leaves = salted_leaf_hashes(entries, salts)
        for entry in entries:
            codes_by_stratum.setdefault(entry.stratum, []).append(entry.code)
        strata_counts.update({stratum: len(codes) for stratum, codes in codes_by_stratum.items()})
        all_codes = [code for codes in codes_by_stratum.values() for code in codes]
        problem = algorithm.eligible_problem(entries, manifest)
        need(problem is None, problem or "")
        need(
            set_root(leaves) == objects["eligible_root"],
            "eligible: the set does not match the manifest's eligible_root",
        )
        try:
            digest = eligible_digest(all_codes)
        except ValueError as exc:
            raise Mismatch(f"eligible: {exc}") from None
        need(
            digest == objects["eligible_digest"],
            "eligible: the codes do not match the manifest's eligible_digest",
        )
        pairs = []
        for n, row in enumerate(list_of(b["exclusions"], "exclusions")):
            pair = list_of(row, f"exclusions[{n}]")
            need(
                len(pair) == 2 and all(isinstance(x, str) for x in pair),
                f"exclusions[{n}]: expected [code, rule_id]",
            )
            pairs.append((pair[0], pair[1]))
        need(
            exclusions_root(pairs) == objects["exclusions_root"],
            "exclusions: do not match the manifest's exclusions_root",
        )
        need(
            dict(Counter(r for _, r in pairs)) == objects["exclusions_by_rule"],
            "exclusions: counts per rule differ",
        )
        need(
            not set(all_codes) & {c for c, _ in pairs},
            "exclusions: an excluded object is in the eligible set",
        )
        problem = other_level_problem(manifest, pairs)
        need(problem is None, problem or "")
    else:
        need(b["exclusions"] == [], "exclusions: a public bundle lists none")
        problem = other_level_problem(manifest, None)
        need(problem is None, problem or "")
        commitments = []
        for n, row in enumerate(eligible_rows):
            r = obj(row, ["commitment", "stratum", "ticket"], f"eligible[{n}]")
            commitments.append(bytes.fromhex(hex64(r["commitment"], f"eligible[{n}].commitment")))
            stratum = text(r["stratum"], f"eligible[{n}].stratum")
            strata_counts[stratum] += 1
            if state == "executed" or d["seed"]:
                public_tickets.setdefault(stratum, []).append(hex64(r["ticket"], f"eligible[{n}].ticket"))
            else:
                need(r["ticket"] == "", f"eligible[{n}].ticket: a draw without seed has no tickets")
        need(commitments == sorted(commitments), "eligible: commitments are not in ascending order")
        need(
            set_root(commitments) == objects["eligible_root"],
            "eligible: the commitments do not match the manifest's eligible_root",
        )
        notes.append(
            "public bundle: unselected objects are salted commitments; each object can check its own ticket"
        )
    expected_strata = {name: s["count"] for name, s in objects["strata"].items()}
    if manifest["algorithm_version"] == PLAIN_DRAW and expected_strata == {DEFAULT_STRATUM: 0}:
        expected_strata = {}  # a plain draw keeps its one stratum, with count 0, when nothing is eligible
    need(dict(strata_counts) == expected_strata, "eligible: per-stratum counts differ from the manifest")
    need(sum(strata_counts.values()) == objects["eligible"], "eligible: count differs from the manifest")

    pool_lines = [text(line, f"pool[{n}]") for n, line in enumerate(list_of(b["pool"], "pool"))]
    need(pool_root(pool_lines) == inspectors["pool_root"], "pool: does not match the manifest's pool_root")
    pool = [pool_inspector(line) for line in pool_lines]
    problem = algorithm.pool_problem(pool_lines)
    need(problem is None, problem or "")
    need(
        set_digest(i.badge_number for i in pool) == inspectors["pool_digest"],
        "pool: badges do not match pool_digest",
    )
    conflicts = set_digest(f"{i.badge_number}\t{code}" for i in pool for code in i.conflicts)
    need(conflicts == inspectors["conflict_digest"], "pool: declared conflicts do not match conflict_digest")

    # -- entropy and seed --------------------------------------------------------------------------------
    stage("entropy")
    inputs: dict[tuple[str, str], str] = {}
    declared = {(i.role, i.name): i.commitment for i in expected_inputs(declaration)}
    listed = {}
    for n, row in enumerate(list_of(b["entropy_inputs"], "entropy_inputs")):
        r = obj(row, ["role", "name", "commitment", "value"], f"entropy_inputs[{n}]")
        key = (text(r["role"], f"entropy_inputs[{n}].role"), text(r["name"], f"entropy_inputs[{n}].name"))
        listed[key] = text(r["commitment"], f"entropy_inputs[{n}].commitment")
        inputs[key] = hex_digits(r["value"], f"entropy_inputs[{n}].value")
    need(listed == declared, "entropy_inputs: differ from the manifest's declared entropy source")
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
        need(found is not None, f"entropy_inputs: {role} {name} has no event in the log")
        seq, a = found  # type: ignore[misc]
        need(seq > commit_seq, f"entropy_inputs: {role} {name} was supplied before the commit")
        need(
            a.get("secret", a.get("value")) == value,
            f"entropy_inputs: {role} {name} differs from its logged value",
        )
    executed = bool(d["seed"])
    if declaration["kind"] == "local-secret":
        notes.append("entropy: local secret — development only, not publishable (the operator could know it)")
    if not executed:
        need(
            d["seed"] == d["entropy"] == d["entropy_source"] == "", "draw: a draw without seed has no entropy"
        )
        need(
            b["assignments"] == [] and b["substitutions"] == [],
            "draw: a draw without seed has no assignments",
        )
        need(state in ("committed", "abandoned"), "draw.state: executed without a seed")
        _check_abandon(state, d, actions)
        notes.append(f"draw {draw_id} is {state}; nothing drawn")
        return
    try:
        entropy, label = combine(declaration, inputs)
    except EntropyProblem as exc:
        raise Mismatch(f"entropy: {exc}") from None
    need(entropy.hex() == d["entropy"], "draw.entropy: differs from the combination of the entropy inputs")
    need(label == d["entropy_source"], "draw.entropy_source: differs from what the inputs give")
    seed = derive_seed(manifest_hash, entropy)
    need(seed.hex() == d["seed"], "draw.seed: is not SHA-256(tag ‖ manifest hash ‖ entropy)")
    execute = next(((seq, a) for seq, action, a, _ in actions if action == "draw.execute"), None)
    need(execute is not None, "log: the draw has no execute event")
    assert execute is not None
    need(
        execute[0] > commit_seq
        and execute[1].get("seed") == d["seed"]
        and execute[1].get("entropy") == d["entropy"],
        "log: the execute event names another seed or entropy",
    )

    # -- selection ----------------------------------------------------------------------------------------
    stage("selection")
    rows = list_of(b["assignments"], "assignments")
    stored = []
    for n, row in enumerate(rows):
        r = obj(row, ["position", "code", "stratum", "ticket", "team"], f"assignments[{n}]")
        need(r["position"] == n + 1, f"assignments[{n}].position: expected {n + 1}")
        team = [text(x, f"assignments[{n}].team") for x in list_of(r["team"], f"assignments[{n}].team")]
        stored.append((text(r["code"], f"assignments[{n}].code"), r["stratum"], r["ticket"], team))
    need(
        [code for code, *_ in stored] == execute[1].get("selected"),
        "log: the execute event lists other selected objects",
    )
    if variant == "full":
        selected = algorithm.select(seed, codes_by_stratum, manifest)
        for n, (s, (code, stratum, ticket, _)) in enumerate(zip(selected, stored, strict=False)):
            need(
                (s.credit_code, s.stratum, s.ticket_hex) == (code, stratum, ticket),
                f"assignments[{n}]: position {n + 1} should be {s.credit_code} "
                f"(ticket {s.ticket_hex[:12]}…), the bundle says {code}",
            )
        need(
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
            need(len(mine) == size, f"assignments: stratum {stratum} should have {size} selected objects")
            for k, (code, st, ticket, _) in enumerate(mine):
                need(
                    st == stratum and ticket == tickets[k],
                    f"assignments[{n_stored + k}]: ticket is not the {k + 1}. lowest of {stratum}",
                )
                need(
                    ticket_hex(object_ticket(seed, stratum, code)) == ticket,
                    f"assignments[{n_stored + k}]: ticket of {code} does not recompute",
                )
            n_stored += size
        need(n_stored == len(stored), "assignments: more listed than the draw selects")
        codes = [code for code, *_ in stored]

    # -- teams and substitutions --------------------------------------------------------------------------
    stage("teams")
    try:
        formed = algorithm.form_teams(
            seed, [Selected(code, ticket, st) for code, st, ticket, _ in stored], pool_lines, manifest
        )
    except DomainError as exc:
        raise Mismatch(f"assignments: teams cannot be formed ({exc})") from None
    teams = [[m.badge_number for m in t] for t in formed]
    replay_substitutions(
        list_of(b["substitutions"], "substitutions"),
        Replay(actions, logged_at, seed, teams, codes, pool_lines, manifest, algorithm),
        notes,
    )
    for n, (code, _, _, team) in enumerate(stored):
        need(
            team == teams[n],
            f"assignments[{n}].team: position {n + 1} ({code}) should be {teams[n]}, the bundle "
            f"says {team} (a team change without its substitution event?)",
        )
    _check_abandon(state, d, actions)
    if own is not None:
        _check_own(own, variant, eligible_rows, seed, stored, notes)


def _check_abandon(
    state: str, d: dict[str, Any], actions: Sequence[tuple[int, str, dict[str, Any], bytes]]
) -> None:
    abandon = next((a for _, action, a, _ in actions if action == "draw.abandon"), None)
    if state == "abandoned":
        need(
            abandon is not None and abandon.get("reason") == d["state_reason"],
            "draw.state: abandoned without its logged reason",
        )
    else:
        need(abandon is None and d["state_reason"] == "", "draw.state: the log says the draw was abandoned")


def _check_own(
    own: ObjectCheck, variant: str, rows: list[Any], seed: bytes, stored: list[Any], notes: list[str]
) -> None:
    commitments = {
        object_commitment(EligibleEntry(own.code, stratum, own.risk_class), own.salt)
        for stratum in ("all", "A", "B", "C", "D")
    }
    if variant == "full":
        found = next((r for r in rows if r["code"] == own.code), None)
        need(
            found is not None and found["salt"] == own.salt and found["risk_class"] == own.risk_class,
            f"object {own.code}: not in the eligible set with this salt and risk class",
        )
    else:
        found = next((r for r in rows if r["commitment"] in commitments), None)
        need(found is not None, f"object {own.code}: its commitment is not in the eligible set")
        assert found is not None
        need(
            found["ticket"] == ticket_hex(object_ticket(seed, found["stratum"], own.code)),
            f"object {own.code}: the listed ticket is not its ticket",
        )
    selected = any(code == own.code for code, *_ in stored)
    notes.append(f"object {own.code}: ticket checked; {'selected' if selected else 'not selected'}")


def _plan_notes(manifest: dict[str, Any], notes: list[str]) -> None:
    """Notes the plan entry a draw was drawn for and whether it is a rehearsal (never published)."""
    plan = manifest["task"].get("plan")
    rehearsal = manifest.get("rehearsal", False)
    need(rehearsal is True or "rehearsal" not in manifest, "manifest.rehearsal: is true when present")
    if plan is not None:
        p = obj(plan, ["plan_id", "version", "entry_id", "period"], "manifest.task.plan")
        notes.append(
            f"plan {p['plan_id']} version {p['version']}, entry {p['entry_id']}, period {p['period']}"
        )
    if rehearsal:
        notes.append("rehearsal: drawn to rehearse a plan entry; never published, never counted")
