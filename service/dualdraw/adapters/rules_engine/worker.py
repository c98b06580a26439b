"""The rules-engine worker process: the only code that imports durable_rules (inside ``serve``).

It drives the low-level ``durable_rules_engine`` module synchronously, as ``durable.engine.Host`` does but
without its timer threads: ``assert_facts`` → ``start_action_for_state`` → ``complete_and_start_action``
until no action is left → ``delete_state``. One session (sid ``"1"``) per shard, deleted before the next,
so at most one session per ruleset is ever live (durable allows 1,024).

Per shard: the side facts are asserted first (negation is not retroactive), then the objects, then the
sentinel fact, which the compiler's sentinel rule matches: at least one action has run before
``delete_state`` (deleting a session where no action ever ran crashes durable) and all actions are drained.

Measured ``assert_facts`` result codes: 0 all handled; 1 at least one fact matched no pattern (e.g. an
object no rule's object conditions admit, a closed complaint when only open ones are tested): harmless,
the fact is simply not stored; 2 a fact's id hash was taken (the fact is dropped). Only the last non-zero
code of a batch is returned, so 2 can hide behind 1: collisions are prevented up front
(``fact_ids.SessionFactIds``) and a 2 that still shows is an error.

Protocol over a ``multiprocessing`` connection, requests and replies are tuples:
``("ruleset", key, ruleset_json)`` → ``("ok", None)``; ``("shard", key, side_facts_json, objects_json)``
(``shard_texts``: JSON arrays of facts whose ids are distinct and that carry the session id; empty text for
none) → ``("ok", [(rule_id, credit_code, refs), ...])``; ``("fault", kind)`` (tests) → ``("ok", None)``;
``("stop",)`` ends the process. Failures reply ``("error", message)``. ``("ready", pid)`` is sent at start.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import OrderedDict
from multiprocessing.connection import Connection
from typing import Any

from dualdraw.adapters.rules_engine.fact_ids import SessionFactIds
from dualdraw.domain.exclusions.compiler import (
    KIND_KEY,
    OBJECT_PATTERN,
    SENTINEL_FACT_ID,
    SENTINEL_KIND,
    SENTINEL_RULE,
    rule_id_of,
)

FAULT_ENV = "DUALDRAW_TEST_RULES_WORKER_FAULT"
"""Tests only: ``abort``, ``exit`` or ``hang`` makes every worker started with it fail on each shard."""
SID = "1"
STATE_FACT_ID = f"sid-{SID}"
"""The id durable gives the session's state fact, stored among the session's facts."""
SENTINEL_TEXT = json.dumps([{"id": SENTINEL_FACT_ID, "sid": SID, KIND_KEY: SENTINEL_KIND}])
RULESET_CACHE_SIZE = 8

Fact = dict[str, object]
Match = tuple[str, str, tuple[str, ...]]


def serve(conn: Connection) -> None:
    """Worker process entry point: answers requests on ``conn`` until ``stop`` or end of file."""
    import durable_rules_engine  # here, not at module level: the parent process must never load it

    engine = _Sessions(durable_rules_engine)
    fault = os.environ.get(FAULT_ENV, "")
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        op = request[0]
        if op == "stop":
            return
        try:
            if op == "ruleset":
                engine.load(request[1], request[2])
                conn.send(("ok", None))
            elif op == "shard":
                _fail(engine.take_fault() or fault)
                conn.send(("ok", engine.evaluate(request[1], request[2], request[3])))
            elif op == "fault":
                engine.next_fault = request[1]
                conn.send(("ok", None))
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except Exception as exc:  # reported to the parent, which discards this worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _fail(kind: str) -> None:
    if kind == "abort":
        os.abort()
    elif kind == "exit":
        os._exit(70)
    elif kind == "hang":
        time.sleep(3600)


class _Sessions:
    """Compiled rulesets (bounded cache) and the evaluation of one shard in one session."""

    def __init__(self, durable: Any):  # the C extension module, untyped
        self._durable = durable
        self._rulesets: OrderedDict[str, int] = OrderedDict()
        self._names = itertools.count()
        self.next_fault = ""

    def take_fault(self) -> str:
        fault, self.next_fault = self.next_fault, ""
        return fault

    def load(self, key: str, ruleset_json: str) -> None:
        if key in self._rulesets:
            self._rulesets.move_to_end(key)
            return
        self._rulesets[key] = self._durable.create_ruleset(f"dualdraw-{next(self._names)}", ruleset_json)
        while len(self._rulesets) > RULESET_CACHE_SIZE:
            _, handle = self._rulesets.popitem(last=False)
            self._durable.delete_ruleset(handle)

    def evaluate(self, key: str, side_facts: str, objects: str) -> list[Match]:
        handle = self._rulesets[key]
        state = 0
        for batch in (side_facts, objects, SENTINEL_TEXT):
            if batch:
                code, state = self._durable.assert_facts(handle, batch)
                if code not in (0, 1):
                    raise RuntimeError(
                        f"durable_rules returned code {code} asserting facts (2: id hash taken)"
                    )
        matches, sentinel_seen = self._drain(handle, state)
        if not sentinel_seen:
            raise RuntimeError("the sentinel rule did not fire; the session cannot be deleted safely")
        self._durable.delete_state(handle, SID)
        return matches

    def _drain(self, handle: int, state: int) -> tuple[list[Match], bool]:
        """Runs every pending action of the session; returns the matches and whether the sentinel ran."""
        matches: list[Match] = []
        sentinel_seen = False
        started = self._durable.start_action_for_state(handle, state)
        while started is not None:
            message: str | None = started[1]
            while message is not None:
                for name, frames in json.loads(message).items():
                    if name == SENTINEL_RULE:
                        sentinel_seen = True
                        continue
                    for frame in frames if isinstance(frames, list) else [frames]:
                        matches.append(_match(name, frame))
                message = self._durable.complete_and_start_action(handle, state)
            started = self._durable.start_action_for_state(handle, state)
        return matches, sentinel_seen


def shard_texts(side_facts: list[Fact], objects: list[Fact]) -> tuple[str, str]:
    """The JSON texts of one shard's side facts and object facts (empty for none), as a session takes
    them: every fact gets the session id and an id durable cannot confuse with another of the session
    (``SessionFactIds``). Made by the parent, whose process waits for the worker meanwhile."""
    ids = SessionFactIds(reserved=(STATE_FACT_ID, SENTINEL_FACT_ID))
    for fact in itertools.chain(side_facts, objects):
        fact["id"] = ids.claim(str(fact["id"]))
        fact["sid"] = SID
    return (
        json.dumps(side_facts, ensure_ascii=False) if side_facts else "",
        json.dumps(objects, ensure_ascii=False) if objects else "",
    )


def _match(rule_name: str, frame: dict[str, dict[str, Any]]) -> Match:
    refs = tuple(str(fact["ref"]) for name, fact in frame.items() if name != OBJECT_PATTERN)
    return rule_id_of(rule_name), str(frame[OBJECT_PATTERN]["credit_code"]), refs
