"""The checks both bundle forms share: the draw and its manifest, the log, the pool, the entropy and seed,
the assignment rows, and the teams with every substitution replayed (docs/DRAW-ALGORITHM.md §12).

Each takes a bundle member as parsed JSON and raises ``Mismatch`` naming the first difference; what the
long lists (eligible set, exclusions) need is in ``bundle`` (one document) and ``lines`` (line by line).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.merkle import leaf_hash, verify_inclusion
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, set_digest
from dualdraw.domain.draw.commitments import pool_root
from dualdraw.domain.draw.entropy import (
    EntropyProblem,
    check_rounds_after,
    combine,
    expected_inputs,
    validate_declaration,
)
from dualdraw.domain.draw.object_plan import ObjectPlan
from dualdraw.domain.draw.selection import Selected
from dualdraw.domain.draw.strata import stratum_ratios
from dualdraw.domain.draw.versions import (
    ALGORITHMS,
    DrawAlgorithm,
    UnknownDrawAlgorithm,
    algorithm_for,
    pool_inspector,
)
from dualdraw.domain.errors import DomainError
from dualdraw.verifier.fields import Mismatch, hex64, hex_digits, integer, list_of, need, obj, text
from dualdraw.verifier.substitutions import Replay, replay_substitutions


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


JSON_PREFIX = b'{"assignments":'
"""How every ``dualdraw-bundle/1`` starts (its first member in canonical order); a line bundle cannot."""

Action = tuple[int, str, dict[str, Any], bytes]
"""A logged event of the draw: sequence, action, its ``after`` content, leaf hash."""

StoredAssignment = tuple[str, str, str, list[str]]
"""An assignment row as listed: code, stratum, ticket, team."""

DRAW_FIELDS = (
    "id",
    "task_id",
    "state",
    "state_reason",
    "manifest_json",
    "manifest_hash",
    "entropy_source",
    "entropy",
    "seed",
)


@dataclass
class Drawn:
    """What the draw member and its manifest establish, and (after ``check_log``) its logged events."""

    d: dict[str, Any]
    draw_id: str
    state: str
    manifest: dict[str, Any]
    manifest_hash: str
    algorithm: DrawAlgorithm
    stratum_ratio: dict[str, Fraction]
    declaration: dict[str, Any]
    actions: list[Action]
    plan: ObjectPlan
    """The object plan: the manifest's, or (``dualdraw-draw/4``) the bundle's rows once checked."""
    commit_seq: int = 0
    logged_at: dict[int, str] = field(default_factory=dict)
    """When each logged event occurred (by sequence), for the beacon rounds of substitutions."""

    @property
    def objects(self) -> dict[str, Any]:
        return self.manifest["objects"]  # type: ignore[no-any-return]

    @property
    def inspectors(self) -> dict[str, Any]:
        return self.manifest["inspectors"]  # type: ignore[no-any-return]


def check_draw(value: Any, notes: list[str]) -> Drawn:
    """The ``draw`` member: its manifest's hash, canonical form, versions and entropy declaration."""
    d = obj(value, DRAW_FIELDS, "draw")
    draw_id = text(d["id"], "draw.id")
    state = d["state"]
    need(state in ("committed", "executed", "abandoned"), "draw.state: unknown state")
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
    ratios = stratum_ratios(manifest)
    problem = algorithm.manifest_problem(manifest)
    need(problem is None, problem or "")
    declaration = manifest["entropy_source"]
    try:
        validate_declaration(declaration)
        check_rounds_after(declaration, dt.datetime.fromisoformat(manifest["created_at"]))
    except (EntropyProblem, ValueError, TypeError) as exc:
        raise Mismatch(f"manifest.entropy_source: {exc}") from None
    plan = algorithm.manifest_plan(manifest)
    return Drawn(d, draw_id, state, manifest, manifest_hash, algorithm, ratios, declaration, [], plan)


def check_log(value: Any, drawn: Drawn, trusted_keys: Any, notes: list[str]) -> None:
    """The ``log`` member: the checkpoint's signature (and pinned key), each event's inclusion proof and
    content, and that the first event commits this manifest; fills ``drawn.actions``."""
    log = obj(value, ["events", "checkpoint"], "log")
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
        need(content.get("resource") == f"draws/{drawn.draw_id}", f"{where}: event is about another resource")
        after = json.loads(content["after_json"]) if content["after_json"] else {}
        drawn.actions.append((seq, content["action"], after, leaf))
        drawn.logged_at[seq] = str(content.get("occurred_at", ""))
    actions = drawn.actions
    need(bool(actions) and actions[0][1] == "draw.commit", "log: the draw's first event is not its commit")
    commit_after = actions[0][2]
    need(
        commit_after.get("manifest_hash") == drawn.manifest_hash,
        "log: the commit event names another manifest hash",
    )
    need(
        commit_after.get("entropy_source") == drawn.declaration,
        "log: the commit event declares another entropy source",
    )
    drawn.commit_seq = actions[0][0]


def check_pool(value: Any, drawn: Drawn) -> list[str]:
    """The ``pool`` member against ``pool_root``, ``pool_digest`` and ``conflict_digest``; its lines."""
    inspectors = drawn.inspectors
    pool_lines = [text(line, f"pool[{n}]") for n, line in enumerate(list_of(value, "pool"))]
    need(pool_root(pool_lines) == inspectors["pool_root"], "pool: does not match the manifest's pool_root")
    problem = drawn.algorithm.pool_problem(pool_lines)
    need(problem is None, problem or "")
    need(
        set_digest(json.loads(line)["badge_number"] for line in pool_lines) == inspectors["pool_digest"],
        "pool: badges do not match pool_digest",
    )
    if drawn.algorithm.plan_in_manifest:  # dualdraw-draw/4: the conflicts are in the plan rows (plan_root)
        pool = [pool_inspector(line) for line in pool_lines]
        conflicts = set_digest(f"{i.badge_number}\t{code}" for i in pool for code in i.conflicts)
        need(
            conflicts == inspectors["conflict_digest"],
            "pool: declared conflicts do not match conflict_digest",
        )
    return pool_lines


def check_seed(value: Any, drawn: Drawn, notes: list[str]) -> bytes | None:
    """The ``entropy_inputs`` member against the declaration and the log; the draw's seed, recomputed and
    named by the execute event, or ``None`` for a draw without seed (nothing drawn: the caller checks
    that no assignment or substitution is listed)."""
    d, declaration, actions = drawn.d, drawn.declaration, drawn.actions
    inputs: dict[tuple[str, str], str] = {}
    declared = {(i.role, i.name): i.commitment for i in expected_inputs(declaration)}
    listed = {}
    for n, row in enumerate(list_of(value, "entropy_inputs")):
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
    for (role, name), input_value in inputs.items():
        if not input_value or role == "local-secret":
            continue
        event_key = ("party", name) if role == "party" else ("beacon-event", name)
        found = supplied_events.get(event_key)
        need(found is not None, f"entropy_inputs: {role} {name} has no event in the log")
        assert found is not None
        seq, a = found
        need(seq > drawn.commit_seq, f"entropy_inputs: {role} {name} was supplied before the commit")
        need(
            a.get("secret", a.get("value")) == input_value,
            f"entropy_inputs: {role} {name} differs from its logged value",
        )
    if declaration["kind"] == "local-secret":
        notes.append("entropy: local secret — development only, not publishable (the operator could know it)")
    if not d["seed"]:
        need(
            d["seed"] == d["entropy"] == d["entropy_source"] == "", "draw: a draw without seed has no entropy"
        )
        need(drawn.state in ("committed", "abandoned"), "draw.state: executed without a seed")
        return None
    try:
        entropy, label = combine(declaration, inputs)
    except EntropyProblem as exc:
        raise Mismatch(f"entropy: {exc}") from None
    need(entropy.hex() == d["entropy"], "draw.entropy: differs from the combination of the entropy inputs")
    need(label == d["entropy_source"], "draw.entropy_source: differs from what the inputs give")
    seed = derive_seed(drawn.manifest_hash, entropy)
    need(seed.hex() == d["seed"], "draw.seed: is not SHA-256(tag ‖ manifest hash ‖ entropy)")
    execute = execute_event(drawn)
    need(
        execute[0] > drawn.commit_seq
        and execute[1].get("seed") == d["seed"]
        and execute[1].get("entropy") == d["entropy"],
        "log: the execute event names another seed or entropy",
    )
    return seed


def execute_event(drawn: Drawn) -> tuple[int, dict[str, Any]]:
    execute = next(((seq, a) for seq, action, a, _ in drawn.actions if action == "draw.execute"), None)
    need(execute is not None, "log: the draw has no execute event")
    assert execute is not None
    return execute


def assignment_row(row: Any, n: int) -> StoredAssignment:
    """One assignment row (the ``n``-th, 0-based): its exact fields and its position ``n + 1``."""
    r = obj(row, ["position", "code", "stratum", "ticket", "team"], f"assignments[{n}]")
    need(r["position"] == n + 1, f"assignments[{n}].position: expected {n + 1}")
    team = [text(x, f"assignments[{n}].team") for x in list_of(r["team"], f"assignments[{n}].team")]
    return text(r["code"], f"assignments[{n}].code"), r["stratum"], r["ticket"], team


def check_selected_logged(drawn: Drawn, stored: list[StoredAssignment]) -> None:
    need(
        [code for code, *_ in stored] == execute_event(drawn)[1].get("selected"),
        "log: the execute event lists other selected objects",
    )


def check_teams(
    drawn: Drawn,
    seed: bytes,
    stored: list[StoredAssignment],
    pool_lines: list[str],
    substitutions: Any,
    notes: list[str],
) -> None:
    """Every team recomputed, each substitution replayed from its logged request and execution
    (``verifier.substitutions``), and the listed teams equal to the result."""
    algorithm, manifest = drawn.algorithm, drawn.manifest
    codes = [code for code, *_ in stored]
    try:
        formed = algorithm.form_teams(
            seed,
            [Selected(code, ticket, st) for code, st, ticket, _ in stored],
            pool_lines,
            manifest,
            drawn.plan,
        )
    except DomainError as exc:
        raise Mismatch(f"assignments: teams cannot be formed ({exc})") from None
    teams = [[m.badge_number for m in t] for t in formed]
    replay_substitutions(
        list_of(substitutions, "substitutions"),
        Replay(
            drawn.actions, drawn.logged_at, seed, teams, codes, pool_lines, manifest, algorithm, drawn.plan
        ),
        notes,
    )
    for n, (code, _, _, team) in enumerate(stored):
        need(
            team == teams[n],
            f"assignments[{n}].team: position {n + 1} ({code}) should be {teams[n]}, the bundle "
            f"says {team} (a team change without its substitution event?)",
        )


def check_abandon(drawn: Drawn) -> None:
    d = drawn.d
    abandon = next((a for _, action, a, _ in drawn.actions if action == "draw.abandon"), None)
    if drawn.state == "abandoned":
        need(
            abandon is not None and abandon.get("reason") == d["state_reason"],
            "draw.state: abandoned without its logged reason",
        )
    else:
        need(abandon is None and d["state_reason"] == "", "draw.state: the log says the draw was abandoned")


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
