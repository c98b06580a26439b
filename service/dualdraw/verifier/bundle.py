"""The offline verifier: ``dualdraw verify BUNDLE`` re-checks a draw bundle with no server and no database.

It imports no SQL and no gRPC code: only the pure draw algorithm, the Merkle and checkpoint code and
``cryptography``. Every byte of the bundle is accounted for: the file must be canonical JSON with exactly
the expected fields, and every value is recomputed or checked against a hash, a Merkle proof or the signed
checkpoint. The first difference is reported by name (docs/DRAW-ALGORITHM.md §12). This module reads the
one-document form ``dualdraw-bundle/1`` whole; the line form goes to ``verifier.lines``.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Final

from dualdraw.domain.canonical_json import canonical_json, loads_proving_canonical
from dualdraw.domain.draw.algorithm import eligible_digest
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    exclusions_root,
    object_commitment,
    salted_leaf_hashes,
    set_root,
)
from dualdraw.domain.draw.coordination import other_level_problem
from dualdraw.domain.draw.object_plan import ObjectPlan
from dualdraw.domain.draw.selection import object_ticket, selection_size, ticket_hex
from dualdraw.domain.draw.strata import DEFAULT_STRATUM
from dualdraw.domain.draw.versions import PLAIN_DRAW
from dualdraw.runtime import collection_pause
from dualdraw.verifier.checks import (
    JSON_PREFIX,
    ObjectCheck,
    Report,
    StoredAssignment,
    assignment_row,
    check_abandon,
    check_draw,
    check_log,
    check_pool,
    check_seed,
    check_selected_logged,
    check_teams,
)
from dualdraw.verifier.fields import Mismatch, eligible_entries, hex64, list_of, need, obj, text
from dualdraw.verifier.lines import LINE_STAGES, verify_lines
from dualdraw.verifier.object_plan import PLAN_BUNDLE_FORMAT, FullPlan, check_public_plan, check_raised

__all__ = ["LINE_STAGES", "STAGES", "ObjectCheck", "Report", "verify_bundle", "verify_path"]

BUNDLE_FORMAT = "dualdraw-bundle/1"

STAGES: Final = ("parse", "manifest", "log", "eligible", "entropy", "selection", "teams")
"""The stages of a verification, in order; ``verify_bundle`` tells ``stage(name)`` as each one starts."""


def is_line_bundle(path: Path) -> bool:
    """Whether the file is a line bundle (anything not starting as every ``dualdraw-bundle/1`` does)."""
    with path.open("rb") as f:
        return not f.read(len(JSON_PREFIX)).startswith(JSON_PREFIX)


def verify_path(
    path: Path,
    *,
    trusted_keys: Collection[str] | None = None,
    own_object: ObjectCheck | None = None,
    stage: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verifies the bundle file ``path``: a line bundle read line by line (``progress(bytes read)``), a
    ``dualdraw-bundle/1`` read whole."""
    if is_line_bundle(path):
        return verify_lines(
            lambda: path.open("rb"),
            trusted_keys=trusted_keys,
            own_object=own_object,
            stage=stage,
            progress=progress,
        )
    raw = path.read_bytes()
    if progress is not None:
        progress(len(raw))
    return verify_bundle(raw, trusted_keys=trusted_keys, own_object=own_object, stage=stage)


def verify_bundle(
    raw: bytes,
    *,
    trusted_keys: Collection[str] | None = None,
    own_object: ObjectCheck | None = None,
    stage: Callable[[str], None] | None = None,
) -> Report:
    """Verifies a bundle of either form; ``Report.ok`` is MATCH, otherwise ``problem`` names the first
    difference. The line form is read line by line; from a file, ``verify_path`` holds less."""
    if not raw.startswith(JSON_PREFIX):
        return verify_lines(
            lambda: io.BytesIO(raw), trusted_keys=trusted_keys, own_object=own_object, stage=stage
        )
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
    plan_form = isinstance(bundle, dict) and bundle.get("format") == PLAN_BUNDLE_FORMAT
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
            *(("plan", "raised") if plan_form else ()),
        ],
        "bundle",
    )
    need(b["format"] in (BUNDLE_FORMAT, PLAN_BUNDLE_FORMAT), f"bundle.format: expected {BUNDLE_FORMAT}")
    variant = b["variant"]
    need(variant in ("full", "public"), "bundle.variant: expected full or public")
    stage("manifest")
    drawn = check_draw(b["draw"], notes)
    state, objects, algorithm = drawn.state, drawn.objects, drawn.algorithm
    expected_format = BUNDLE_FORMAT if algorithm.plan_in_manifest else PLAN_BUNDLE_FORMAT
    need(
        b["format"] == expected_format,
        f"bundle.format: a {algorithm.version} draw's bundle is {expected_format}",
    )
    stage("log")
    check_log(b["log"], drawn, trusted_keys, notes)

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
        if plan_form:
            raised = check_raised(list_of(b["raised"], "raised"), objects)
            plan_leaves: list[bytes] = []
            plan = FullPlan(plan_leaves.append, None)
            plan_rows = list_of(b["plan"], "plan")
            for n, row in enumerate(plan_rows):
                plan.add(n, row)
            plan.finish(objects, set_root(plan_leaves))
            drawn.plan = ObjectPlan(plan.rows, raised)
        problem = algorithm.eligible_problem(entries, drawn.manifest, drawn.plan)
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
        problem = other_level_problem(drawn.manifest, pairs)
        need(problem is None, problem or "")
    else:
        need(b["exclusions"] == [], "exclusions: a public bundle lists none")
        need(not plan_form or b["raised"] == [], "raised: a public bundle lists none")
        problem = other_level_problem(drawn.manifest, None)
        need(problem is None, problem or "")
        commitments = []
        for n, row in enumerate(eligible_rows):
            r = obj(row, ["commitment", "stratum", "ticket"], f"eligible[{n}]")
            commitments.append(bytes.fromhex(hex64(r["commitment"], f"eligible[{n}].commitment")))
            stratum = text(r["stratum"], f"eligible[{n}].stratum")
            strata_counts[stratum] += 1
            if state == "executed" or drawn.d["seed"]:
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
    if drawn.manifest["algorithm_version"] == PLAIN_DRAW and expected_strata == {DEFAULT_STRATUM: 0}:
        expected_strata = {}  # a plain draw keeps its one stratum, with count 0, when nothing is eligible
    need(dict(strata_counts) == expected_strata, "eligible: per-stratum counts differ from the manifest")
    need(sum(strata_counts.values()) == objects["eligible"], "eligible: count differs from the manifest")

    pool_lines = check_pool(b["pool"], drawn)

    # -- entropy and seed --------------------------------------------------------------------------------
    stage("entropy")
    seed = check_seed(b["entropy_inputs"], drawn, notes)
    if seed is None:
        need(
            b["assignments"] == [] and b["substitutions"] == [],
            "draw: a draw without seed has no assignments",
        )
        need(
            variant == "full" or not plan_form or b["plan"] == [],
            "plan: a draw without seed has no plan rows",
        )
        check_abandon(drawn)
        notes.append(f"draw {drawn.draw_id} is {state}; nothing drawn")
        return

    # -- selection ----------------------------------------------------------------------------------------
    stage("selection")
    rows = list_of(b["assignments"], "assignments")
    stored: list[StoredAssignment] = [assignment_row(row, n) for n, row in enumerate(rows)]
    check_selected_logged(drawn, stored)
    if plan_form and variant == "public":
        drawn.plan = check_public_plan(list_of(b["plan"], "plan"), objects, [code for code, *_ in stored])
    if variant == "full":
        selected = algorithm.select(seed, codes_by_stratum, drawn.manifest)
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
    else:
        n_stored = 0
        for stratum in sorted(public_tickets, key=lambda s: s.encode("utf-8")):
            tickets = sorted(public_tickets[stratum])
            size = selection_size(drawn.stratum_ratio[stratum], len(tickets))
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

    # -- teams and substitutions --------------------------------------------------------------------------
    stage("teams")
    check_teams(drawn, seed, stored, pool_lines, b["substitutions"], notes)
    check_abandon(drawn)
    if own is not None:
        _check_own(own, variant, eligible_rows, seed, stored, notes)


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
