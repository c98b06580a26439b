"""docs/ERRORS.md lists every ErrorInfo reason the service raises, with its gRPC status and metadata keys.

The reasons are found in the source with ``ast``, not listed by hand:

- the ``reason`` class attribute of an error class that is instantiated somewhere (or whose subclass without a
  reason of its own is);
- a ``reason`` argument (keyword, or positional where the callee's parameter is called ``reason``) of a call,
  whose value is a string, a name bound to strings (a module constant, a local ``reason = "A" if … else "B"``)
  or the parameter of a function that passes it on (``_add_new(…, "ITEM_EXISTS", …)``);
- a ``reason`` carried by a non-gRPC problem (``EntropyProblem``) into a domain error through ``exc.reason``.

Where the class that goes on the wire is known, its status comes from ``status_code_of`` (the one mapping);
the table must name exactly those statuses. Otherwise the table must name a valid status code.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import grpc
import pytest

from dualdraw.domain.errors import DomainError
from dualdraw.entrypoints.grpc.errors import status_code_of

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "service" / "dualdraw"
DOC = ROOT / "docs" / "ERRORS.md"
REASON = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}")
CODES = {code.name for code in grpc.StatusCode}
ROW = re.compile(r"^\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|")


@dataclass
class Raised:
    """``(reason, error class or None)`` pairs, metadata keys named with each reason, where it is raised."""

    pairs: set[tuple[str, str | None]] = field(default_factory=set)
    metadata: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    where: dict[str, str] = field(default_factory=dict)


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        yield module, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _strings(node: ast.AST) -> set[str]:
    """The reason-shaped string constants inside ``node`` (``"A" if c else "B"`` gives both)."""
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and REASON.fullmatch(n.value)
    }


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _reason_index(args: ast.arguments) -> int | None:
    """The positional index (without ``self``) of a parameter called ``reason``, if it has one."""
    names = [a.arg for a in [*args.posonlyargs, *args.args]]
    if names and names[0] in {"self", "cls"}:
        names = names[1:]
    return names.index("reason") if "reason" in names else None


def _reason_arg(call: ast.Call, index: int | None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "reason":
            return keyword.value
    if index is not None and index < len(call.args):
        return call.args[index]
    return None


def _scan() -> Raised:
    trees = list(_modules())
    classes: dict[str, tuple[str, list[str], str | None]] = {}  # name -> (module, bases, own reason)
    reason_param: dict[str, int] = {}  # callable name -> positional index of its ``reason`` parameter
    constants: dict[str, set[str]] = defaultdict(set)  # module-level NAME = "REASON"
    for module, tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] |= _strings(node.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                own = None
                for item in node.body:
                    target = (
                        item.targets[0]
                        if isinstance(item, ast.Assign) and len(item.targets) == 1
                        else item.target
                        if isinstance(item, ast.AnnAssign)
                        else None
                    )
                    value = getattr(item, "value", None)
                    if isinstance(target, ast.Name) and target.id == "reason" and value is not None:
                        own = next(iter(_strings(value)), None)
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        index = _reason_index(item.args)
                        if index is not None:
                            reason_param[node.name] = index
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                classes[node.name] = (module, bases, own)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "__init__":
                index = _reason_index(node.args)
                if index is not None:
                    reason_param[node.name] = index

    def error_class(name: str | None) -> type[DomainError] | None:
        if name is None or name not in classes:
            return None
        found = getattr(import_module(classes[name][0]), name, None)
        return found if isinstance(found, type) and issubclass(found, DomainError) else None

    def default_reason(name: str) -> str | None:
        while name in classes:
            _, bases, own = classes[name]
            if own is not None:
                return own
            name = next((b for b in bases if b in classes), "")
        return None

    raised = Raised()
    # Reasons that flow on: into a parameter of a function (key ``fn``), or carried by a problem class.
    into_param: dict[str, set[str | None]] = defaultdict(set)  # function -> error classes its reason reaches
    carried: dict[str, set[str | None]] = defaultdict(set)  # carrier class -> error classes it reaches
    literal: list[tuple[str, str, str]] = []  # (reason, callee, where)
    instantiated: list[tuple[str, str]] = []  # (error class called without a reason, where)
    given_by_init: list[tuple[str, str]] = []  # (reason, class whose __init__ always passes it on)
    for module, tree in trees:
        owner = {
            id(item): node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, ast.FunctionDef)
        }
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            params = {a.arg: a.annotation for a in [*function.args.args, *function.args.kwonlyargs]}
            local: dict[str, set[str]] = defaultdict(set)
            bound: dict[str, str] = {}  # exc -> the class it is caught as / annotated with
            for name, annotation in params.items():
                if isinstance(annotation, ast.Name):
                    bound[name] = annotation.id
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            local[target.id] |= _strings(node.value)
                if isinstance(node, ast.ExceptHandler) and node.name and isinstance(node.type, ast.Name):
                    bound[node.name] = node.type.id
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                callee = _callee(call)
                by_init = callee == "__init__" and id(function) in owner  # super().__init__(…, reason=…)
                if by_init:
                    callee = owner[id(function)]
                if callee is None:
                    continue
                value = _reason_arg(call, reason_param.get(callee))
                if value is None:
                    continue
                where = f"{module}:{call.lineno}"
                target = callee if callee in classes else None
                if isinstance(value, ast.Name) and value.id in params and not local[value.id]:
                    into_param[function.name].add(target)
                    continue
                if (
                    isinstance(value, ast.Attribute)
                    and value.attr == "reason"
                    and isinstance(value.value, ast.Name)
                    and value.value.id in bound
                ):
                    carried[bound[value.value.id]].add(target)
                    continue
                found = _strings(value)
                if isinstance(value, ast.Name):
                    found |= local[value.id] or constants[value.id]
                for reason in found:
                    literal.append((reason, callee, where))
                    if by_init and reason_param.get(callee) is None:
                        given_by_init.append((reason, callee))
                    keys = next((k.value for k in call.keywords if k.arg == "metadata"), None)
                    if isinstance(keys, ast.Dict):
                        raised.metadata[reason] |= {
                            k.value
                            for k in keys.keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str)
                        }
                if isinstance(value, ast.Name) and not found and error_class(callee) is not None:
                    raise AssertionError(f"{where}: reason={value.id} is bound to nothing this test can read")
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                callee = _callee(call)
                if (
                    error_class(callee) is not None
                    and _reason_arg(call, reason_param.get(callee or "")) is None
                ):
                    instantiated.append((callee or "", f"{module}:{call.lineno}"))
    for reason, callee in given_by_init:  # a class whose __init__ hands super() a fixed reason owns it
        module, bases, own = classes[callee]
        classes[callee] = (module, bases, own or reason)
    for callee, where in instantiated:  # default reasons of the error classes instantiated anywhere
        reason = default_reason(callee)
        if reason is not None:
            raised.pairs.add((reason, callee))
            raised.where.setdefault(reason, where)

    def targets(callee: str, seen: frozenset[str] = frozenset()) -> set[str | None]:
        """The error classes a reason handed to ``callee`` ends up in."""
        if callee in seen:
            return set()
        if error_class(callee) is not None:
            return {callee}
        out: set[str | None] = set()
        for nxt in into_param.get(callee, set()) | carried.get(callee, set()):
            out |= targets(nxt, seen | {callee}) if nxt is not None else {None}
        return out or {None}

    for reason, callee, where in literal:
        for target in targets(callee):
            raised.pairs.add((reason, target))
        raised.where.setdefault(reason, where)
    return raised


def _documented() -> dict[str, tuple[set[str], str]]:
    rows: dict[str, tuple[set[str], str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            reason, status, metadata = match.groups()
            assert reason not in rows, f"docs/ERRORS.md lists {reason} twice"
            rows[reason] = (set(re.findall(r"`([A-Z_]+)`", status)), metadata)
    return rows


def test_every_raised_reason_is_documented_with_its_status() -> None:
    raised, documented = _scan(), _documented()
    problems = []
    reasons = {reason for reason, _ in raised.pairs}
    for reason in sorted(reasons):
        if reason not in documented:
            problems.append(f"{reason} (raised at {raised.where[reason]}) is missing from docs/ERRORS.md")
            continue
        statuses, metadata = documented[reason]
        kinds = {kind for r, kind in raised.pairs if r == reason}
        classes = [_resolve(k) for k in kinds if k is not None]
        known = {status_code_of(c).name for c in classes if c is not None}
        if not statuses or not statuses <= CODES:
            problems.append(f"{reason}: status {sorted(statuses)} is not a gRPC status code")
        elif known and (statuses != known if None not in kinds else not known <= statuses):
            problems.append(f"{reason}: the table says {sorted(statuses)}, the mapping gives {sorted(known)}")
        for key in sorted(raised.metadata.get(reason, set())):
            if f"`{key}`" not in metadata:
                problems.append(f"{reason}: metadata key {key} is not in its row")
    for reason in sorted(set(documented) - reasons):
        problems.append(f"docs/ERRORS.md lists {reason}, which nothing raises")
    assert not problems, "\n".join(problems)


def _resolve(name: str) -> type[DomainError] | None:
    for module, tree in _modules():
        if any(isinstance(n, ast.ClassDef) and n.name == name for n in tree.body):
            found = getattr(import_module(module), name)
            return found if isinstance(found, type) and issubclass(found, DomainError) else None
    return None


def test_the_scan_sees_the_reasons_of_each_kind_of_source() -> None:
    """The scan is not vacuous: one reason of each way of raising is found, with its class."""
    pairs = _scan().pairs
    assert ("DRAW_EXISTS", "AlreadyExists") in pairs  # keyword string
    assert ("CONSTRAINTS_LEAVE_TOO_FEW", "FailedPrecondition") in pairs  # local bound to two strings
    assert ("CREDIT_CODE_NOT_CANONICAL", None) in pairs  # module constant, through Violations.add
    assert ("TASK_EXISTS", "AlreadyExists") in pairs  # positional, passed on by _add_new
    assert ("REVEAL_MISMATCH", "FailedPrecondition") in pairs  # carried by EntropyProblem
    assert ("BEACON_SIGNATURE_INVALID", "FailedPrecondition") in pairs  # BeaconProblem -> EntropyProblem
    assert ("DUPLICATE_REQUEST", "DuplicateRequest") in pairs  # class attribute
    assert ("NOT_FOUND", "NotFound") in pairs  # default reason of an instantiated class
    assert ("CALENDAR_ENDS", "CalendarEnds") in pairs  # given by a subclass to super().__init__
    assert not any(reason == "DOMAIN_ERROR" for reason, _ in pairs)  # the base class is never raised


# -- field violations: every one carries a reason ------------------------------------------------------------

_VIOLATION_MAKERS = {"FieldViolation": 2, "invalid": 2, "add": 2}
"""Calls that make a field violation, and the positional index of their ``reason``."""


def _violation_calls() -> Iterator[tuple[str, ast.Call]]:
    for module, tree in _modules():
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            callee = _callee(call)
            if callee not in _VIOLATION_MAKERS:
                continue
            if callee == "add" and not (
                isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in {"v", "violations"}
            ):
                continue  # a set's or a session's add
            if callee == "invalid" and len(call.args) + len(call.keywords) < 2:
                continue  # the beacon's own invalid(why), a BeaconProblem rather than a field violation
            yield f"{module}:{call.lineno}", call


def test_every_field_violation_is_made_with_a_reason() -> None:
    calls = list(_violation_calls())
    assert len(calls) > 100
    missing = [
        where
        for where, call in calls
        if _reason_arg(call, _VIOLATION_MAKERS[_callee(call) or ""]) is None
        and not any(isinstance(a, ast.Starred) for a in call.args)
    ]
    assert missing == [], f"field violations without a reason: {missing}"


def test_every_violation_reason_is_documented_as_one() -> None:
    rows = {
        m.group(1): line for line in DOC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))
    }
    marked = {reason for reason, line in rows.items() if "*violation*" in line}
    reasons: set[str] = set()
    for _where, call in _violation_calls():
        value = _reason_arg(call, _VIOLATION_MAKERS[_callee(call) or ""])
        if value is not None:
            reasons |= _strings(value)
    assert {"RATIO_OUT_OF_RANGE", "FIELD_REQUIRED", "UNKNOWN_DEPARTMENT"} <= reasons
    # MALFORMED_REQUEST and DEPARTMENT_CHANGE_NEEDS_TRANSFER are also the reason of their error's class.
    unmarked = reasons - marked - {"MALFORMED_REQUEST", "DEPARTMENT_CHANGE_NEEDS_TRANSFER"}
    assert unmarked == set(), (
        f"violation reasons not marked *violation* in docs/ERRORS.md: {sorted(unmarked)}"
    )


def test_a_violation_without_a_reason_is_refused() -> None:
    from dualdraw.domain.errors import FieldViolation

    with pytest.raises(ValueError, match="needs an UPPER_SNAKE reason"):
        FieldViolation("task.ratio", "must be in (0, 1]", reason="")
    with pytest.raises(TypeError):
        FieldViolation("task.ratio", "must be in (0, 1]")  # type: ignore[call-arg]  # the point of the test


def test_the_error_reason_is_the_violations_shared_reason_else_invalid_argument() -> None:
    from dualdraw.domain.errors import FieldViolation, InvalidArgument, Violations
    from dualdraw.entrypoints.grpc.errors import MalformedRequest

    same = Violations()
    same.add("objects[0].credit_code", "wrong check character", reason="CREDIT_CODE_CHECK_CHARACTER")
    same.add("objects[4].credit_code", "wrong check character", reason="CREDIT_CODE_CHECK_CHARACTER")
    with pytest.raises(InvalidArgument) as one_kind:
        same.raise_if_any()
    assert one_kind.value.reason == "CREDIT_CODE_CHECK_CHARACTER"
    mixed = Violations()
    mixed.add("task.ratio", "must be in (0, 1]", reason="RATIO_OUT_OF_RANGE")
    mixed.add("task.item_code", "is required", reason="FIELD_REQUIRED")
    with pytest.raises(InvalidArgument) as two_kinds:
        mixed.raise_if_any()
    assert two_kinds.value.reason == "INVALID_ARGUMENT"
    assert [v.reason for v in two_kinds.value.violations] == ["RATIO_OUT_OF_RANGE", "FIELD_REQUIRED"]
    malformed = MalformedRequest([FieldViolation("", "truncated", reason="MALFORMED_REQUEST")])
    assert malformed.reason == "MALFORMED_REQUEST"
