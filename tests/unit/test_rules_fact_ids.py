"""durable_rules' 32-bit fact-id hash, reproduced in Python, and collision-free ids per session."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from dualdraw.adapters.rules_engine.fact_ids import SessionFactIds, durable_hash

# Pairs that collide under durable_rules' fnv1Hash32: a plain ASCII pair, and pairs that collide only when
# bytes >= 0x80 are sign-extended and the id is hashed as it appears in the JSON text (escapes included).
ASCII_PAIR = ("o579599", "o762382")
SIGNED_PAIRS = [("c\\9pfak2bz", 'c测"pdn4ftr5'), ("c\\u1rdj7bp", 'c测"xcodoebo')]


def plain_fnv1a(text: str) -> int:
    """Textbook FNV-1a over the UTF-8 bytes: what durable does *not* do for non-ASCII ids."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def test_the_known_ascii_pair_collides() -> None:
    assert durable_hash(ASCII_PAIR[0]) == durable_hash(ASCII_PAIR[1]) == 3835111554
    assert durable_hash("o579598") != durable_hash("o579599")
    assert durable_hash("abc") == plain_fnv1a("abc")


def test_non_ascii_and_escaped_ids_hash_like_durable_not_like_textbook_fnv() -> None:
    for first, second in SIGNED_PAIRS:
        assert durable_hash(first) == durable_hash(second)
        assert plain_fnv1a(json.dumps(first)[1:-1]) != plain_fnv1a(json.dumps(second)[1:-1])


def test_colliding_ids_are_rekeyed_and_reserved_ids_respected() -> None:
    ids = SessionFactIds(reserved=["sid-1", ASCII_PAIR[0]])
    assert ids.claim("a") == "a"
    assert ids.claim(ASCII_PAIR[1]) == ASCII_PAIR[1] + "~1"
    assert ids.claim("a") == "a~1"  # a duplicate id is a collision too
    assert ids.claim("a") == "a~2"
    assert ids.rekeyed == 3
    pair_ids = SessionFactIds()
    first, second = SIGNED_PAIRS[0]
    assert [pair_ids.claim(first), pair_ids.claim(second)] == [first, second + "~1"]


DURABLE_CHECK = textwrap.dedent(
    """
    import json, sys
    import durable_rules_engine as d
    from dualdraw.adapters.rules_engine.fact_ids import SessionFactIds
    handle = d.create_ruleset("check", json.dumps({"r": {"all": [{"o": {"fact": "x"}}]}}))
    def fired(ids, sid):
        code, state = d.assert_facts(handle, json.dumps(
            [{"id": i, "sid": sid, "fact": "x"} for i in ids], ensure_ascii=False))
        count, message = 0, d.start_action_for_state(handle, state)
        message = message and message[1]
        while message:
            count += 1
            message = d.complete_and_start_action(handle, state)
        return code, count
    out = []
    for n, pair in enumerate(json.loads(sys.argv[1])):
        ids = SessionFactIds(reserved=[f"sid-r{n}"])
        out.append([fired(pair, f"p{n}"), fired([ids.claim(i) for i in pair], f"r{n}")])
    print(json.dumps(out))
    """
)


def test_durable_drops_exactly_the_predicted_collisions_and_not_the_rekeyed_ids() -> None:
    """Checks the Python hash against the real engine (in a child process: this one never loads it)."""
    pairs = [list(ASCII_PAIR), *map(list, SIGNED_PAIRS), ["o579598", "o579599"]]
    run = subprocess.run(
        [sys.executable, "-c", DURABLE_CHECK, json.dumps(pairs, ensure_ascii=False)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    results = json.loads(run.stdout)
    # As given: code 2 ("observed") and one action for colliding pairs, both facts for the control pair.
    assert [raw for raw, _ in results] == [[2, 1], [2, 1], [2, 1], [0, 2]]
    # With SessionFactIds: both facts of every pair are kept.
    assert [rekeyed for _, rekeyed in results] == [[0, 2]] * 4
