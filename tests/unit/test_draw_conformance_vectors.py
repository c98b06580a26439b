"""``tests/vectors/draw-conformance.json`` (docs/DRAW-ALGORITHM.md, "Conformance"): each vector is recomputed
from the document with the standard library, and by the service code and the offline verifier's code where
they differ."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dualdraw.domain.audit.checkpoints import Checkpoint, CheckpointSigner
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.algorithm import derive_seed, format_ratio, parse_ratio, set_digest
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    eligible_root,
    exclusions_digest,
    exclusions_root,
    pool_root,
    salted_leaf_hashes,
    set_root,
)
from dualdraw.domain.draw.coordination import other_level_problem
from dualdraw.domain.draw.entropy import combine, expected_inputs, validate_declaration
from dualdraw.domain.draw.policy_teams import (
    PlannedObject,
    PoolMember,
    TeamRules,
    form_policy_teams,
    teams_for_plan,
)
from dualdraw.domain.draw.qualified_teams import (
    QualifiedPoolMember,
    planned_objects,
    qualified_team_rules,
    refuse_unstaffable,
    staffing_shortages,
)
from dualdraw.domain.draw.selection import select_by_strata, selection_size
from dualdraw.domain.draw.strata import (
    codes_by_stratum,
    fraction_text,
    manifest_strata,
    parse_fraction,
    stratum_ratios,
)
from dualdraw.domain.draw.versions import ALGORITHMS, PLAIN_DRAW, POLICY_DRAW, QUALIFIED_DRAW, pool_inspector
from dualdraw.domain.errors import FailedPrecondition

from .test_draw_v2_vectors import reference as policy_reference

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
DATA = json.loads((VECTORS / "draw-conformance.json").read_text(encoding="utf-8"))


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash, recursive as the RFC writes it (the empty tree: SHA-256 of nothing)."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def doc_ratio(text: str) -> tuple[int, int] | None:
    """§4: ``[0-9]+(\\.[0-9]{1,6})?`` with 0 < p/q ≤ 1, p the digits without the point, q = 10^decimals."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,6})?", text, flags=re.ASCII):
        return None
    whole, _, decimals = text.partition(".")
    p, q = int(whole + decimals), 10 ** len(decimals)
    return (p, q) if 0 < p <= q else None


# -- ratios --


@pytest.mark.parametrize("case", DATA["ratios"]["accepted"], ids=lambda c: c["decimal"])
def test_a_decimal_ratio_becomes_the_manifest_fraction_and_its_sizes(case: dict[str, Any]) -> None:
    parsed = doc_ratio(case["decimal"])
    assert parsed is not None
    p, q = parsed
    reduced = Fraction(p, q)  # the manifest writes p/q in lowest terms
    assert f"{reduced.numerator}/{reduced.denominator}" == case["manifest"]
    assert [[n, (p * n + q - 1) // q] for n, _ in case["sizes"]] == case["sizes"]
    # server: the API's decimal parsed, written into the manifest, and shown again by the API
    ratio = parse_ratio(case["decimal"])
    assert fraction_text(ratio) == case["manifest"]
    assert format_ratio(ratio) == case["api"]
    assert parse_ratio(case["api"]) == ratio
    # verifier: the manifest's fraction read back
    assert [[n, selection_size(parse_fraction(case["manifest"]), n)] for n, _ in case["sizes"]] == case[
        "sizes"
    ]


@pytest.mark.parametrize("text", DATA["ratios"]["rejected"])
def test_a_ratio_outside_the_grammar_is_refused(text: str) -> None:
    assert doc_ratio(text) is None
    with pytest.raises(ValueError, match="ratio must be"):
        parse_ratio(text)


# -- Merkle roots of the input sets --


@pytest.mark.parametrize("case", DATA["set_roots"], ids=lambda c: f"{c['set']}-{len(c['leaves'])}")
def test_set_roots_take_sorted_leaf_hashes_as_level_zero(case: dict[str, Any]) -> None:
    leaves = [sha(b"\x00" + leaf["leaf_data"].encode("utf-8")) for leaf in case["leaves"]]
    assert [h.hex() for h in leaves] == [leaf["leaf_hash"] for leaf in case["leaves"]]
    level0 = sorted(leaves)  # by bytes; lower-case hex sorts the same way
    assert [h.hex() for h in level0] == case["level0"] == sorted(h.hex() for h in leaves)
    assert mth(level0).hex() == case["root"]
    if case["set"] == "eligible":
        salt_key = bytes.fromhex(case["salt_key"])
        for leaf in case["leaves"]:
            salt = hashlib.sha256(
                b"dualdraw/salt/v1\x00" + salt_key + leaf["code"].encode("ascii")
            ).hexdigest()
            assert leaf["salt"] == salt
            fields = {k: leaf[k] for k in ("code", "risk_class", "stratum")}
            assert (
                json.dumps({**fields, "salt": salt}, sort_keys=True, separators=(",", ":"))
                == leaf["leaf_data"]
            )
        entries = [EligibleEntry(x["code"], x["stratum"], x["risk_class"]) for x in case["leaves"]]
        assert eligible_root(entries, salt_key) == case["root"]  # server (commit)
        verifier = salted_leaf_hashes(entries, [x["salt"] for x in case["leaves"]])
        assert set_root(verifier) == case["root"]  # verifier (full bundle)
        assert set_root(bytes.fromhex(h) for h in case["level0"]) == case["root"]  # verifier (public bundle)
    elif case["set"] == "pool":
        assert pool_root([leaf["leaf_data"] for leaf in case["leaves"]]) == case["root"]
    else:
        pairs = [tuple(json.loads(leaf["leaf_data"])) for leaf in case["leaves"]]
        assert exclusions_root(pairs) == case["root"]
        assert exclusions_digest(pairs) == case["exclusions_digest"]
        data = canonical_json([list(p) for p in pairs])
        assert hashlib.sha256(data).hexdigest() == case["exclusions_digest"]


def test_an_empty_set_has_the_root_of_the_empty_tree() -> None:
    empty = [c for c in DATA["set_roots"] if not c["leaves"]]
    assert {c["set"] for c in empty} == {"eligible", "pool", "exclusions"}
    assert {c["root"] for c in empty} == {hashlib.sha256(b"").hexdigest()}


# -- entropy --


def doc_entropy(declaration: dict[str, Any], supplied: dict[tuple[str, str], str]) -> bytes:
    """§3.1 from the text; the beacon signature's BLS check is left to the service code below."""

    def beacon_piece(name: str, round_: int, signature_hex: str) -> bytes:
        randomness = sha(bytes.fromhex(signature_hex))
        return sha(
            b"dualdraw/beacon/v1\x00" + name.encode() + b"\x00" + str(round_).encode() + b"\x00" + randomness
        )

    kind = declaration["kind"]
    if kind == "local-secret":
        return bytes.fromhex(supplied["local-secret", "local"])
    if kind == "beacon":
        return beacon_piece(
            declaration["beacon"], declaration["round"], supplied["beacon", declaration["beacon"]]
        )
    out = b""
    missing = False
    for party in sorted(declaration["parties"], key=lambda p: p["name"].encode("utf-8")):
        secret = supplied.get(("party", party["name"]))
        if secret is None:
            missing = True
            continue
        name = party["name"].encode("utf-8")
        assert (
            sha(b"dualdraw/reveal/v1\x00" + name + b"\x00" + bytes.fromhex(secret)).hex()
            == party["commitment"]
        )
        out += sha(b"dualdraw/party/v1\x00" + name + b"\x00" + bytes.fromhex(secret))
    if missing:
        fb = declaration["fallback"]
        out += beacon_piece(fb["beacon"], fb["round"], supplied["fallback-beacon", fb["beacon"]])
    return out


@pytest.mark.parametrize("case", DATA["entropy"], ids=lambda c: c["name"])
def test_entropy_of_each_declaration_kind(case: dict[str, Any]) -> None:
    declaration = case["declaration"]
    supplied = {(i["role"], i["name"]): i["value"] for i in case["supplied"]}
    assert doc_entropy(declaration, supplied).hex() == case["entropy"]
    seed = sha(
        b"dualdraw/seed/v1\x00" + bytes.fromhex(case["manifest_hash"]) + bytes.fromhex(case["entropy"])
    )
    assert seed.hex() == case["seed"]
    # server and verifier: the same functions (execute, and verify_bundle)
    validate_declaration(declaration)
    assert {(i.role, i.name) for i in expected_inputs(declaration)} >= set(supplied)
    entropy, label = combine(declaration, supplied)
    assert (entropy.hex(), label) == (case["entropy"], case["entropy_source"])
    assert derive_seed(case["manifest_hash"], entropy).hex() == case["seed"]


# -- pool lines and strata --


def test_pool_lines_and_their_digests() -> None:
    pools = DATA["pool_lines"]
    v1 = pools[PLAIN_DRAW]
    for line in v1["lines"]:
        entry = json.loads(line)
        assert set(entry) == {"badge_number", "conflicts"}
        assert entry["conflicts"] == sorted(entry["conflicts"])
        assert set(entry["conflicts"]) <= set(pools["eligible"])
    v2 = pools[POLICY_DRAW]
    for line in v2["lines"]:
        entry = json.loads(line)
        assert set(entry) == {"badge_number", "conflicts", "department_id", "office", "qualified", "recent"}
        assert json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == line
    v3 = pools[QUALIFIED_DRAW]
    for line in v3["lines"]:
        entry = json.loads(line)
        assert set(entry) == {"badge_number", "certificate", "conflicts", "department_id", "office", "recent"}
        assert entry["certificate"] is None or set(entry["certificate"]) == {"expires_on", "speciality"}
        assert json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == line
    for version, pool in ((PLAIN_DRAW, v1), (POLICY_DRAW, v2), (QUALIFIED_DRAW, v3)):
        entries = [json.loads(line) for line in pool["lines"]]
        badges = sorted(e["badge_number"].encode() for e in entries)
        assert sha(b"\n".join(badges)).hex() == pool["pool_digest"]
        keys = sorted(f"{e['badge_number']}\t{c}".encode() for e in entries for c in e["conflicts"])
        assert sha(b"\n".join(keys)).hex() == pool["conflict_digest"]
        assert mth(sorted(sha(b"\x00" + line.encode()) for line in pool["lines"])).hex() == pool["pool_root"]
        # verifier: reads every version's lines through pool_inspector, and checks v2 lines are canonical
        read = [pool_inspector(line) for line in pool["lines"]]
        assert set_digest(i.badge_number for i in read) == pool["pool_digest"]
        assert (
            set_digest(f"{i.badge_number}\t{c}" for i in read for c in i.conflicts) == pool["conflict_digest"]
        )
        assert ALGORITHMS[version].pool_problem(pool["lines"]) is None
    assert [PoolMember.from_line(line).line() for line in v2["lines"]] == v2["lines"]
    assert [QualifiedPoolMember.from_line(line).line() for line in v3["lines"]] == v3["lines"]


def test_a_class_ratio_without_eligible_objects_makes_no_stratum() -> None:
    for case in DATA["strata"]:
        entries = [EligibleEntry(code, s, s) for code, s in case["eligible"]]
        ratios = {k: parse_fraction(v) for k, v in case["ratios"].items()}
        assert manifest_strata(entries, ratios) == case["manifest_strata"]
        assert set(case["manifest_strata"]) == {s for _, s in case["eligible"]} < set(case["ratios"])


# -- dualdraw-draw/2 teams --


@pytest.mark.parametrize("vector", DATA["policy_teams"], ids=lambda v: v["name"])
def test_policy_teams(vector: dict[str, Any]) -> None:
    expected = [(a["code"], a["ticket"], a["stratum"], a["team"]) for a in vector["assignments"]]
    assert policy_reference(vector) == expected
    seed = derive_seed(vector["manifest_hash"], bytes.fromhex(vector["entropy"]))
    entries = [EligibleEntry(e["code"], e["stratum"], e["stratum"]) for e in vector["eligible"]]
    manifest = {
        "task": vector["rules"],
        "objects": {
            "strata": {s: {"ratio": r} for s, r in vector["strata_ratios"].items()},
            "plan": vector["plan"],
        },
    }
    selected = select_by_strata(seed, codes_by_stratum(entries), stratum_ratios(manifest))
    teams = form_policy_teams(seed, selected, vector["pool"], manifest)
    got = [
        (s.credit_code, s.ticket_hex, s.stratum, [m.badge_number for m in t])
        for s, t in zip(selected, teams, strict=True)
    ]
    assert got == expected


# -- dualdraw-draw/3 teams --


def qualified_reference(v: dict[str, Any]) -> list[tuple[str, str, str, list[str]]] | dict[str, Any]:
    """§14.6, standard library only: the assignments, or the refusal before the entropy."""
    as_of, task = v["as_of"], v["task"]
    policy = task["policy"]
    pool = [json.loads(line) for line in v["pool"]]
    plan = {code: (dep, office) for code, dep, office in v["plan"]}
    lines = policy["cooperating_lines"]

    def holds(m: dict[str, Any], line: str) -> bool:
        c = m["certificate"]
        return (
            c is not None
            and c["speciality"] == line
            and (c["expires_on"] is None or c["expires_on"] >= as_of)
        )

    def free(dept: str, code: str, office: str, load: dict[str, int], rank: Any) -> list[dict[str, Any]]:
        out = [
            m
            for m in pool
            if m["department_id"] == dept
            and code not in m["conflicts"]
            and code not in m["recent"]
            and not (policy["cross_office"] and office and m["office"] == office)
            and not (policy["workload_cap"] and load[m["badge_number"]] >= policy["workload_cap"])
        ]
        return sorted(out, key=lambda m: rank(dept, m))

    def team_for(code: str, load: dict[str, int], rank: Any) -> tuple[list[dict[str, Any]], int]:
        """The team and how many members are missing."""
        dept, office = plan[code]
        home = free(dept, code, office, load, rank)
        leader = next((m for m in home if holds(m, task["required_speciality"])), None)
        team, missing, assistant = [], 0, False
        if leader is None:
            missing += task["team_size"]
        else:
            team.append(leader)
            for m in home:
                if len(team) == task["team_size"]:
                    break
                if m is leader:
                    continue
                if holds(m, task["required_speciality"]):
                    team.append(m)
                elif task["unqualified_assistant"] and not assistant:
                    team.append(m)
                    assistant = True
            missing += task["team_size"] - len(team)
        for coop in sorted(lines, key=lambda d: d.encode("utf-8")):
            ranked = [
                m for m in free(coop, code, office, load, rank) if m not in team and holds(m, lines[coop])
            ]
            picked = ranked[: policy["cooperating_team_size"]]
            missing += policy["cooperating_team_size"] - len(picked)
            team += picked
        return team, missing

    # Before the entropy: every eligible object as if it were drawn first (no loads).
    zero = {m["badge_number"]: 0 for m in pool}
    short = {}
    for code in plan:
        _, missing = team_for(code, zero, lambda _d, m: m["badge_number"])
        if missing:
            short[code] = missing
    if short:
        return {"objects": ",".join(sorted(short)), "missing_inspectors": str(sum(short.values()))}
    seed = sha(b"dualdraw/seed/v1\x00" + bytes.fromhex(v["manifest_hash"]) + bytes.fromhex(v["entropy"]))
    strata: dict[str, list[str]] = {}
    for e in v["eligible"]:
        strata.setdefault(e["stratum"], []).append(e["code"])
    selected = []
    for stratum in sorted(strata, key=lambda s: s.encode("utf-8")):
        p, q = (int(x) for x in v["strata_ratios"][stratum].split("/"))
        codes = strata[stratum]
        tickets = sorted(
            (sha(seed + b"obj\x00" + stratum.encode("utf-8") + b"\x00" + c.encode("ascii")), c) for c in codes
        )
        selected += [(c, t.hex(), stratum) for t, c in tickets[: (p * len(codes) + q - 1) // q]]
    load = dict(zero)

    def rank(dept: str, m: dict[str, Any]) -> tuple[int, bytes, str]:
        b, n = m["badge_number"], load[m["badge_number"]]
        ds = sha(b"dualdraw/dept/v2\x00" + seed + dept.encode("utf-8"))
        return n, sha(ds + b"team\x00" + str(n).encode("ascii") + b"\x00" + b.encode("utf-8")), b

    result = []
    for code, ticket, stratum in selected:
        team, missing = team_for(code, load, rank)
        assert missing == 0  # what can be staffed at load 0 here only fails at a workload cap
        for m in team:
            load[m["badge_number"]] += 1
        result.append((code, ticket, stratum, [m["badge_number"] for m in team]))
    return result


@pytest.mark.parametrize("vector", DATA["qualified_teams"], ids=lambda v: v["name"])
def test_qualified_teams(vector: dict[str, Any]) -> None:
    manifest = {
        "as_of": vector["as_of"],
        "task": vector["task"],
        "objects": {
            "strata": {s: {"ratio": r} for s, r in vector["strata_ratios"].items()},
            "plan": vector["plan"],
        },
    }
    algorithm = ALGORITHMS[QUALIFIED_DRAW]  # what execute, the integrity check and the verifier all call
    assert algorithm.pool_problem(vector["pool"]) is None
    assert algorithm.manifest_problem(manifest) is None
    reference = qualified_reference(vector)
    if "failure" in vector:
        failure = vector["failure"]
        assert reference == {k: failure["metadata"][k] for k in ("objects", "missing_inspectors")}
        pool = [QualifiedPoolMember.from_line(line) for line in vector["pool"]]
        with pytest.raises(FailedPrecondition) as refused:
            refuse_unstaffable(
                staffing_shortages(planned_objects(manifest), pool, qualified_team_rules(manifest))
            )
        assert {"reason": refused.value.reason, "metadata": refused.value.metadata} == failure
        with pytest.raises(FailedPrecondition):
            algorithm.refuse_unstaffable(vector["pool"], manifest, algorithm.manifest_plan(manifest))
        return
    expected = [(a["code"], a["ticket"], a["stratum"], a["team"]) for a in vector["assignments"]]
    assert reference == expected
    algorithm.refuse_unstaffable(vector["pool"], manifest, algorithm.manifest_plan(manifest))
    seed = derive_seed(vector["manifest_hash"], bytes.fromhex(vector["entropy"]))
    entries = [EligibleEntry(e["code"], e["stratum"], e["stratum"]) for e in vector["eligible"]]
    selected = algorithm.select(seed, codes_by_stratum(entries), manifest)
    teams = algorithm.form_teams(seed, selected, vector["pool"], manifest, algorithm.manifest_plan(manifest))
    got = [
        (s.credit_code, s.ticket_hex, s.stratum, [m.badge_number for m in t])
        for s, t in zip(selected, teams, strict=True)
    ]
    assert got == expected


def test_a_workload_cap_refuses_rather_than_changes_a_team() -> None:
    case = DATA["workload_cap"]
    seed = bytes.fromhex(case["seed"])
    pool = [json.loads(line) for line in case["pool"]]
    load = {m["badge_number"]: 0 for m in pool}
    dept_seed = sha(b"dualdraw/dept/v2\x00" + seed + case["department_id"].encode("utf-8"))
    teams = []
    for code in case["objects"]:  # §14.3 without a cap, standard library only
        free = sorted(
            (m["badge_number"] for m in pool if code not in m["conflicts"]),
            key=lambda b: (
                load[b],
                sha(dept_seed + b"team\x00" + str(load[b]).encode() + b"\x00" + b.encode()),
                b,
            ),
        )
        teams.append(free[: case["team_size"]])
        for b in teams[-1]:
            load[b] += 1
    assert teams == case["teams_without_cap"]
    assert max(load.values()) > case["workload_cap"]
    objects = [PlannedObject(code, case["department_id"]) for code in case["objects"]]
    members = [PoolMember.from_line(line) for line in case["pool"]]
    got = teams_for_plan(seed, objects, members, TeamRules(team_size=case["team_size"]))
    assert [[m.badge_number for m in t] for t in got] == case["teams_without_cap"]
    with pytest.raises(FailedPrecondition) as refused:
        teams_for_plan(
            seed, objects, members, TeamRules(team_size=case["team_size"], workload_cap=case["workload_cap"])
        )
    assert {"reason": refused.value.reason, "metadata": refused.value.metadata} == case["failure_with_cap"]


# -- checkpoints and manifests --


def test_checkpoint_is_signed_as_body_and_as_a_c2sp_note() -> None:
    case = DATA["checkpoint_note"]
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(case["private_key"]))
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(case["public_key"]))
    body = f"dualdraw/audit/v1\n{case['tree_size']}\n{case['root_hash']}\n"
    assert body == case["body"]
    public.verify(bytes.fromhex(case["signature"]), body.encode())
    assert sha(bytes.fromhex(case["public_key"])).hex()[:16] == case["key_id"]
    root_b64 = base64.b64encode(bytes.fromhex(case["root_hash"])).decode()
    text = f"dualdraw/audit/v1\n{case['tree_size']}\n{root_b64}\n"
    key_id = sha(b"dualdraw/audit/v1\n\x01" + bytes.fromhex(case["public_key"]))[:4]
    assert case["note"].startswith(text + "\n\u2014 dualdraw/audit/v1 ")
    assert case["note"].endswith("\n")
    blob = base64.b64decode(case["note"][len(text) + 1 :].split(" ")[2])
    assert blob[:4] == key_id
    public.verify(blob[4:], text.encode())
    vkey = (
        "dualdraw/audit/v1+"
        + key_id.hex()
        + "+"
        + base64.b64encode(b"\x01" + bytes.fromhex(case["public_key"])).decode()
    )
    assert vkey == case["note_verifier_key"]
    # server (signs) and verifier (checks)
    signed = CheckpointSigner(private).sign(case["tree_size"], case["root_hash"])
    assert (signed.signature, signed.note) == (case["signature"], case["note"])
    assert CheckpointSigner(private).note_verifier_key == case["note_verifier_key"]
    assert (
        Checkpoint(
            case["tree_size"], case["root_hash"], case["public_key"], case["signature"], case["note"]
        ).problem()
        is None
    )


@pytest.mark.parametrize("case", DATA["manifest_keys"], ids=lambda c: c["name"])
def test_planned_draw_keys_in_the_canonical_manifest(case: dict[str, Any]) -> None:
    text = json.dumps(case["manifest"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text == case["manifest_json"] == canonical_json(case["manifest"]).decode()
    assert hashlib.sha256(text.encode()).hexdigest() == case["manifest_hash"]


def _other_level_consistent(manifest: dict[str, Any], pairs: list[list[str]]) -> bool:
    """§14.6 read from the text alone: the listed pairs sorted and distinct, the handling's rule id counting
    exactly the listed codes, the other rule id absent, and the rows under the rule naming those codes."""
    handling = manifest["task"]["policy"]["other_level"]
    rule = {"exclude": "drawn-by-other-level", "join": "joined-to-other-level"}[handling]
    other = ({"drawn-by-other-level", "joined-to-other-level"} - {rule}).pop()
    listed = [tuple(p) for p in manifest["objects"]["other_level"]]
    codes = {code for code, _ in listed}
    by_rule = manifest["objects"]["exclusions_by_rule"]
    return (
        listed == sorted(set(listed))
        and by_rule.get(other, 0) == 0
        and by_rule.get(rule, 0) == len(codes)
        and {code for code, r in pairs if r == rule} == codes
    )


@pytest.mark.parametrize("case", DATA["other_level"], ids=lambda c: c["name"])
def test_objects_another_level_drew_are_checked_against_the_exclusions(case: dict[str, Any]) -> None:
    text = json.dumps(case["manifest"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text == case["manifest_json"] == canonical_json(case["manifest"]).decode()
    assert hashlib.sha256(text.encode()).hexdigest() == case["manifest_hash"]
    pairs = [(code, rule) for code, rule in case["exclusions"]]
    assert other_level_problem(case["manifest"], pairs) == case["problem"]
    assert _other_level_consistent(case["manifest"], case["exclusions"]) == (case["problem"] is None)


def test_vectors_are_what_the_generator_writes() -> None:
    from tests.vectors.generate_draw_conformance import render

    assert render() == (VECTORS / "draw-conformance.json").read_text(encoding="utf-8")
