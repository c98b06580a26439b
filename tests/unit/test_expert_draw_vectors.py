"""``tests/vectors/expert-draw.json`` (docs/DRAW-ALGORITHM.md §8.2): each case is recomputed from the text of
§8.2 with the standard library only, and by the service code (``domain/draw/expert_draw.py``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.expert_draw import ExpertDrawProblem, inputs_hash, result_hash, select, verify

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "expert-draw.json").read_text("utf-8"))
CASES = {c["name"]: c for c in VECTORS["cases"]}


# --- an independent reading of §8.2, standard library only ------------------------------------------------


def jcs(value: Any) -> bytes:
    """RFC 8785 for the values §8.2 uses (ASCII member names, integers, texts, null, lists, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def why_barred(line: dict[str, Any], qualification: str, as_of: str, code: str) -> str:
    cert = line["certificate"]
    if cert is None or cert["code"] != qualification:
        return "not qualified"
    if cert["expires_on"] is not None and cert["expires_on"] < as_of:
        return "certificate expired"
    if code in line["conflicts"]:
        return "declared conflict"
    if line["own"] == code:
        return "own employer or the object itself"
    if code in line["recent"]:
        return "served the object recently"
    return ""


def reference(inputs: dict[str, Any], entropy: bytes) -> dict[str, Any] | list[str]:
    """The result document, or the codes of the objects that cannot be served (the commit is refused)."""
    req = inputs["requirement"]
    free = {
        o["position"]: [
            c["id"]
            for c in inputs["candidates"]
            if not why_barred(c, req["qualification"], inputs["as_of"], o["credit_code"])
        ]
        for o in inputs["objects"]
    }
    short = [o["credit_code"] for o in inputs["objects"] if len(free[o["position"]]) < req["count"]]
    if short:
        return short
    h = hashlib.sha256(jcs(inputs)).hexdigest()
    seed = sha(
        b"dualdraw/expert-draw/1\x00" + bytes.fromhex(inputs["draw_seed"]) + bytes.fromhex(h) + entropy
    )
    load = {c["id"]: 0 for c in inputs["candidates"]}
    selections = []
    for o in sorted(inputs["objects"], key=lambda o: o["position"]):
        p = o["position"]

        def tk(i: str, p: int = p) -> bytes:
            return sha(seed + req["kind"].encode() + b"\x00" + str(p).encode() + b"\x00" + i.encode("utf-8"))

        chosen = sorted(free[p], key=lambda i: (load[i], tk(i), i.encode("utf-8")))[: req["count"]]
        for i in chosen:
            load[i] += 1
        selections.append(
            {
                "credit_code": o["credit_code"],
                "position": p,
                "selected": [{"id": i, "ticket": tk(i).hex()} for i in chosen],
            }
        )
    return {
        "algorithm": "dualdraw/expert-draw/1",
        "entropy": entropy.hex(),
        "expert_draw_id": inputs["expert_draw_id"],
        "inputs_hash": h,
        "seed": seed.hex(),
        "selections": selections,
    }


# --- the checks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_inputs_are_canonical_and_hashed(name: str) -> None:
    case = CASES[name]
    assert jcs(case["inputs"]).decode("utf-8") == case["inputs_json"]
    assert canonical_json(case["inputs"]).decode("utf-8") == case["inputs_json"]
    assert hashlib.sha256(case["inputs_json"].encode("utf-8")).hexdigest() == case["inputs_hash"]
    assert inputs_hash(case["inputs"]) == case["inputs_hash"]
    assert [c["id"].encode("utf-8") for c in case["inputs"]["candidates"]] == sorted(
        c["id"].encode("utf-8") for c in case["inputs"]["candidates"]
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_reading_agrees_with_the_vector_and_the_service(name: str) -> None:
    case = CASES[name]
    entropy = bytes.fromhex(case["entropy"])
    expected = reference(case["inputs"], entropy)
    if "refused" in case:
        assert expected == case["refused"]["objects"]
        with pytest.raises(ExpertDrawProblem) as refused:
            select(case["inputs"], entropy)
        assert refused.value.reason == case["refused"]["reason"] == "TOO_FEW_EXPERTS"
        assert refused.value.metadata["objects"].split(",") == expected
        return
    assert expected == case["result"]
    assert select(case["inputs"], entropy) == case["result"]
    assert jcs(case["result"]).decode("utf-8") == case["result_json"]
    assert hashlib.sha256(case["result_json"].encode("utf-8")).hexdigest() == case["result_hash"]
    assert result_hash(case["result"]) == case["result_hash"]
    assert verify(case["inputs_json"], case["result_json"]) == ""


def test_the_vectors_cover_every_bar() -> None:
    """Each barring reason and the expiry day itself occur in the vectors, so a reading that misses one
    fails."""
    case = CASES["experts"]
    inputs = case["inputs"]
    reasons = {
        why_barred(c, inputs["requirement"]["qualification"], inputs["as_of"], o["credit_code"])
        for c in inputs["candidates"]
        for o in inputs["objects"]
    }
    assert reasons >= {"", "certificate expired", "declared conflict", "own employer or the object itself"}
    assert "served the object recently" in reasons
    assert any(c["certificate"]["expires_on"] == inputs["as_of"] for c in inputs["candidates"])
    assert "not qualified" not in reasons  # only holders of the code are listed
    assert any(
        s["selected"] and s["selected"][0]["id"] != min((x["id"] for x in s["selected"]), key=str.encode)
        for s in case["result"]["selections"]
    )


def test_tampered_results_do_not_verify() -> None:
    case = CASES["experts"]
    result = json.loads(case["result_json"])
    result["selections"][0]["selected"][0]["id"] = "E-05"
    assert verify(case["inputs_json"], canonical_json(result).decode("utf-8")).startswith(
        "selection: position 1"
    )
    inputs = json.loads(case["inputs_json"])
    inputs["candidates"][1]["conflicts"] = []  # E-02 declared a conflict with object 1
    assert verify(canonical_json(inputs).decode("utf-8"), case["result_json"]).startswith("inputs:")
    assert verify(case["inputs_json"], case["result_json"].replace(",", ", ", 1)) == "result: not canonical"
