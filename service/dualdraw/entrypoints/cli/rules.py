"""``dualdraw rules ...``: local rule-file commands, no server needed (check, test, explain, impact, export).

- ``check [PATHS] [--format text|github]``: load (schema, types, ids, durable limits) and semantic checks;
  each problem as ``file:line:column: message`` or a GitHub annotation. Exit 0 clean, 1 otherwise.
- ``test [PATHS] [--junit FILE] [--min-coverage N]``: run ``<rules>/tests/*.yaml`` through the real engine.
- ``explain CREDIT_CODE --directory SRC``: every rule's verdict for one object.
- ``impact --base REV --directory SRC``: objects newly excluded/included by the working tree's rules.
- ``export-directory --database-url URL OUT``: the directory as JSON Lines (the client's import format).

``SRC`` is a database URL (``sqlite:///...``, ``postgresql://...``) or a ``.jsonl`` export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from dualdraw.domain.errors import DomainError, InvalidArgument, Violations
from dualdraw.domain.exclusions.check import semantic_problems
from dualdraw.domain.exclusions.loader import load_rule_set, load_rule_texts
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.exclusions.plain_yaml import Problem, RuleFileError
from dualdraw.domain.model import SideFacts
from dualdraw.service_layer.rule_preview import DirectorySnapshot
from dualdraw_client.i18n import _
from dualdraw_client.progress import Bar

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
JSON_HELP = "machine output: JSON (lists: one object a line)"


def check_rules(paths: Sequence[Path]) -> tuple[RuleSet | None, list[Problem]]:
    """The rule set in ``paths`` and every problem of it (loading and semantic); the set is ``None`` when
    it does not load."""
    try:
        rule_set = load_rule_set(paths)
    except RuleFileError as exc:
        return None, exc.problems
    return rule_set, semantic_problems(rule_set)


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """A problem for ``--json``: ``{"file", "line", "column", "message"}``."""
    return {
        "file": str(problem.file),
        "line": problem.line,
        "column": problem.column,
        "message": problem.message,
    }


def format_problem(problem: Problem, style: str) -> str:
    if style == "github":
        message = problem.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::error file={problem.file},line={problem.line},col={problem.column}::{message}"
    return str(problem)


def add_rules_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules_help = _("check, test, explain and preview rule files (no server needed)")
    rules = sub.add_parser("rules", help=rules_help, description=rules_help)
    actions = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    check_help = _("validate rule files: file:line:column for every problem")
    p = actions.add_parser("check", help=check_help, description=check_help)
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: ./rules)")
    p.add_argument("--format", choices=("text", "github"), default="text", help="github: CI annotations")
    p.add_argument("--json", action="store_true", dest="json_output", help=_(JSON_HELP))

    p = actions.add_parser("test", help="run the rule test cases (<rules>/tests/*.yaml) with coverage")
    p.add_argument("paths", nargs="*", type=Path, help="rule folders or files (default: ./rules)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument(
        "--min-coverage",
        type=float,
        default=0.0,
        metavar="N",
        help="fail below N %% rule or condition coverage",
    )
    p.add_argument("--format", choices=("text", "github"), default="text")
    p.add_argument("--json", action="store_true", dest="json_output", help=_(JSON_HELP))

    directory_help = "database URL or JSON Lines export of the directory"
    p = actions.add_parser("explain", help="why one object is (or is not) excluded, rule by rule")
    p.add_argument("credit_code", metavar="CREDIT_CODE")
    p.add_argument("--directory", required=True, metavar="URL_OR_EXPORT", help=directory_help)
    p.add_argument(
        "--rules", type=Path, default=None, help="rule folder (default: $DUALDRAW_RULES_PATH or ./rules)"
    )
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None, metavar="DATE")
    p.add_argument("--task", help="a task id (database only): its item and department give the context")
    p.add_argument("--item", help="an item code (database only): its business line")
    p.add_argument("--business-line", default=None, help="business line of the inspection item")
    p.add_argument("--department", help="department that would draw (default: the registering one)")
    p.add_argument("--json", action="store_true", dest="json_output")

    p = actions.add_parser("impact", help="objects a rule change newly excludes or includes")
    p.add_argument("--base", required=True, metavar="REV", help="git revision of the rules to compare with")
    p.add_argument("--rules", type=Path, default=None, help="rule folder (default: ./rules)")
    p.add_argument("--directory", required=True, metavar="URL_OR_EXPORT", help=directory_help)
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None, metavar="DATE")
    p.add_argument("--department", help="evaluate as this department's task over its subtree")
    p.add_argument("--business-line", default="", help="business line of the inspection item")
    p.add_argument(
        "--max-share",
        type=float,
        default=None,
        metavar="P",
        help="fail when a department loses more than P (0-1) of its eligible objects",
    )
    p.add_argument("--json", action="store_true", dest="json_output")

    p = actions.add_parser("export-directory", help="write the directory as JSON Lines (import format)")
    p.add_argument("--database-url", required=True)
    p.add_argument("output", type=Path, metavar="OUT.jsonl")
    p.add_argument("--json", action="store_true", dest="json_output", help=_(JSON_HELP))


def run_rules_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Runs a parsed ``dualdraw rules`` command; returns the exit code (0 ok, 1 problems, 2 usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    command = args.rules_command
    try:
        if command == "check":
            return _check(args, out)
        if command == "test":
            return _test(args, out)
        if command == "explain":
            return _explain(args, out)
        if command == "impact":
            return _impact(args, out)
        return _export(args, out)
    except RuleFileError as exc:
        for problem in exc.problems:
            err.write(str(problem) + "\n")
        return EXIT_PROBLEMS
    except DomainError as exc:
        err.write(f"{_('error')}: {exc}\n")
        return EXIT_USAGE


def _paths(given: Sequence[Path]) -> list[Path]:
    if given:
        return list(given)
    from dualdraw.settings import Settings

    return [Settings().rules_path]


def _check(args: argparse.Namespace, out: TextIO) -> int:
    started = time.perf_counter()
    rule_set, problems = check_rules(_paths(args.paths))
    if getattr(args, "json_output", False):
        document = {
            "ok": not problems,
            "rules": len(rule_set.rules) if rule_set and not problems else None,
            "files": len(rule_set.sources) if rule_set and not problems else None,
            "version": rule_set.version if rule_set and not problems else None,
            "problems": [problem_to_dict(p) for p in problems],
            "seconds": round(time.perf_counter() - started, 3),
        }
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return EXIT_PROBLEMS if problems else EXIT_OK
    for problem in problems:
        out.write(format_problem(problem, args.format) + "\n")
    if problems:
        out.write(_("{count} problem(s)").format(count=len(problems)) + "\n" if args.format == "text" else "")
        return EXIT_PROBLEMS
    assert rule_set is not None
    if args.format == "text":
        message = _("ok: {rules} rules in {files} files, version {version} ({seconds:.2f} s)")
        seconds = time.perf_counter() - started
        out.write(
            message.format(
                rules=len(rule_set.rules),
                files=len(rule_set.sources),
                version=rule_set.version,
                seconds=seconds,
            )
            + "\n"
        )
    return EXIT_OK


def _test(args: argparse.Namespace, out: TextIO) -> int:
    from dualdraw.adapters.rules_engine.engine import ExclusionEngine
    from dualdraw.service_layer.rule_cases import junit_xml, load_cases, run_cases, test_files

    paths = _paths(args.paths)
    rule_set, problems = check_rules([p for p in paths if not _is_test_file(p)])
    as_json = bool(getattr(args, "json_output", False))
    if (problems or rule_set is None) and as_json:
        document = {"ok": False, "problems": [problem_to_dict(p) for p in problems], "cases": []}
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return EXIT_PROBLEMS
    if problems or rule_set is None:
        for problem in problems:
            out.write(format_problem(problem, args.format) + "\n")
        return EXIT_PROBLEMS
    files = test_files(paths)
    cases = load_cases(files)
    with ExclusionEngine(shard_size=2000, timeout_s=60) as engine:
        report = run_cases(rule_set, cases, engine)
    if args.junit:
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    lowest = min(report.rule_coverage, report.condition_coverage)
    below = not report.failed and lowest < args.min_coverage
    if as_json:
        document = {
            "ok": not report.failed and not below,
            "problems": [],
            "files": len(files),
            "passed": len(report.results) - len(report.failed),
            "failed": len(report.failed),
            "rule_coverage": round(report.rule_coverage, 3),
            "condition_coverage": round(report.condition_coverage, 3),
            "min_coverage": args.min_coverage,
            "not_covered": report.uncovered_rules + report.unexercised,
            "seconds": round(report.seconds, 3),
            "cases": [
                {
                    "file": str(r.case.location.file),
                    "line": r.case.location.line,
                    "column": r.case.location.column,
                    "name": r.case.name,
                    "passed": r.passed,
                    "failures": list(r.failures),
                }
                for r in report.results
            ],
        }
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return EXIT_PROBLEMS if report.failed or below else EXIT_OK
    for result in report.results:
        mark = _("ok  ") if result.passed else _("FAIL")
        out.write(f"{mark} {result.case.location}: {result.case.name}\n")
        for failure in result.failures:
            if args.format == "github":
                loc = result.case.location
                out.write(f"::error file={loc.file},line={loc.line},col={loc.column}::{failure}\n")
            else:
                out.write(f"       {failure}\n")
    for line in report.uncovered_rules + report.unexercised:
        out.write(_("not covered: {line}").format(line=line) + "\n")
    summary = _(
        "{passed}/{cases} cases passed in {files} files; coverage: rules {rules:.1f} %,"
        " conditions {conditions:.1f} % ({seconds:.2f} s)"
    )
    out.write(
        summary.format(
            passed=len(report.results) - len(report.failed),
            cases=len(report.results),
            files=len(files),
            rules=report.rule_coverage,
            conditions=report.condition_coverage,
            seconds=report.seconds,
        )
        + "\n"
    )
    if report.failed:
        return EXIT_PROBLEMS
    if below:
        message = _("coverage {lowest:.1f} % is below the required {required:g} %")
        out.write(message.format(lowest=lowest, required=args.min_coverage) + "\n")
        return EXIT_PROBLEMS
    return EXIT_OK


def _is_test_file(path: Path) -> bool:
    return path.is_file() and path.parent.name == "tests"


# -- directory sources --------------------------------------------------------------------------------


def _is_export(source: str) -> bool:
    return "://" not in source


def load_snapshot(source: str) -> DirectorySnapshot:
    """The directory in ``source``: a database URL or a JSON Lines export file."""
    if _is_export(source):
        return _snapshot_from_export(Path(source))
    from dualdraw.adapters.store.unit_of_work import Store
    from dualdraw.service_layer.rule_preview import snapshot_from_uow

    store = Store.from_url(source)
    try:
        with store.unit_of_work() as uow:
            return snapshot_from_uow(uow)
    finally:
        store.dispose()


def _snapshot_from_export(path: Path) -> DirectorySnapshot:
    from dualdraw.entrypoints.grpc import directory_convert
    from dualdraw_client.records import read_jsonl

    v = Violations()
    snapshot = DirectorySnapshot([], [], SideFacts())
    readers: dict[str, tuple[Any, list[Any]]] = {
        "departments": (directory_convert.department_from_pb, snapshot.departments),
        "objects": (directory_convert.object_from_pb, snapshot.objects),
        "complaints": (directory_convert.complaint_from_pb, snapshot.side_facts.complaints),
        "campaigns": (directory_convert.campaign_from_pb, snapshot.side_facts.campaigns),
        "risk_assessments": (directory_convert.risk_assessment_from_pb, snapshot.side_facts.risk_assessments),
        "statutory_designations": (
            directory_convert.designation_from_pb,
            snapshot.side_facts.statutory_designations,
        ),
    }
    for sourced in read_jsonl(path):
        reader = readers.get(sourced.kind)
        if reader is None:
            continue  # inspectors play no part in exclusions
        built = reader[0](sourced.record, str(sourced.origin), v)
        if built is not None:
            reader[1].append(built)
    v.raise_if_any()
    return snapshot


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from google.protobuf.json_format import MessageToDict

    from dualdraw.adapters.store.unit_of_work import Store
    from dualdraw.entrypoints.grpc import directory_convert
    from dualdraw.service_layer.rule_preview import snapshot_from_uow

    store = Store.from_url(args.database_url)
    try:
        with store.unit_of_work() as uow:
            snapshot = snapshot_from_uow(uow)
            inspectors = uow.directory.inspectors_of([d.id for d in snapshot.departments])
    finally:
        store.dispose()
    s = snapshot.side_facts
    groups: list[tuple[str, Iterable[Any], Any]] = [
        ("department", snapshot.departments, directory_convert.department_to_pb),
        ("object", snapshot.objects, directory_convert.object_to_pb),
        ("inspector", inspectors, directory_convert.inspector_to_pb),
        ("complaint", s.complaints, directory_convert.complaint_to_pb),
        ("campaign", s.campaigns, directory_convert.campaign_to_pb),
        ("risk_assessment", s.risk_assessments, directory_convert.risk_assessment_to_pb),
        ("statutory_designation", s.statutory_designations, directory_convert.designation_to_pb),
    ]
    count = 0
    with args.output.open("w", encoding="utf-8") as f:
        for kind, items, to_pb in groups:
            for item in items:
                record = {"kind": kind, **MessageToDict(to_pb(item), preserving_proto_field_name=True)}
                f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    if getattr(args, "json_output", False):
        out.write(json.dumps({"path": str(args.output), "records": count}, ensure_ascii=False) + "\n")
    else:
        out.write(_("exported {count} records to {path}").format(count=count, path=args.output) + "\n")
    return EXIT_OK


# -- explain and impact -------------------------------------------------------------------------------


def _context_source(args: argparse.Namespace) -> tuple[str, str, str | None]:
    line: str = args.business_line or ""
    item_code = ""
    department: str | None = args.department
    if not (args.task or args.item):
        return line, item_code, department
    if _is_export(args.directory):
        from dualdraw.domain.errors import FieldViolation

        raise InvalidArgument(
            [
                FieldViolation(
                    "task", "--task and --item need a database URL as --directory", reason="FIELDS_CONFLICT"
                )
            ]
        )
    from dualdraw.adapters.store.unit_of_work import Store
    from dualdraw.service_layer.directory import require

    store = Store.from_url(args.directory)
    try:
        with store.unit_of_work() as uow:
            code = args.item
            if args.task:
                task = require(uow.tasks.get(args.task), "task", args.task)
                code = task.item_code
                department = department or task.department_id
            item = require(uow.items.get(code), "inspection item", code)
            return args.business_line or item.business_line, item.code, department
    finally:
        store.dispose()


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    from dualdraw.adapters.rules_engine.engine import ExclusionEngine
    from dualdraw.domain.errors import NotFound
    from dualdraw.domain.jurisdiction import DepartmentTree
    from dualdraw.service_layer.rule_preview import context_for, explain

    rule_set = load_rule_set(_paths([args.rules] if args.rules else []))
    line, item_code, department = _context_source(args)
    snapshot = load_snapshot(args.directory)
    obj = next((o for o in snapshot.objects if o.credit_code == args.credit_code), None)
    if obj is None:
        raise NotFound("object", args.credit_code)
    tree = DepartmentTree(snapshot.departments)
    context = context_for(
        tree,
        department or obj.registering_department_id,
        as_of=args.as_of or dt.date.today(),
        business_line=line,
        item_code=item_code,
        organizer_levels={d.id: int(d.level) for d in snapshot.departments},
    )
    with ExclusionEngine() as engine:
        explanation = explain(rule_set, obj, snapshot.side_facts_of({obj.credit_code}), context, engine)
    if args.json_output:
        out.write(json.dumps(explanation_to_dict(explanation), ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    verdict = ", ".join(explanation.excluded_by) or _("not excluded")
    message = _("{code} {name} at {as_of} ({department}): {verdict}")
    out.write(
        message.format(
            code=obj.credit_code,
            name=obj.name,
            as_of=context.as_of,
            department=context.department_id,
            verdict=verdict,
        )
        + "\n"
    )
    if explanation.eligible_again:
        message = _("eligible again from {day} (if the facts stay as they are)")
        out.write(message.format(day=explanation.eligible_again) + "\n")
    for r in explanation.rules:
        out.write(f"- {r.rule_id}: {r.status.replace('_', ' ')}\n")
        for fact in r.facts:
            values = ", ".join(f"{k}={v}" for k, v in fact.values.items())
            out.write(
                "    "
                + _("matched {kind} {ref}: {values}").format(kind=fact.kind, ref=fact.ref, values=values)
                + "\n"
            )
        for failure in r.failures:
            out.write(f"    {failure}\n")
        if r.eligible_again:
            out.write("    " + _("stops matching on {day}").format(day=r.eligible_again) + "\n")
    return EXIT_OK


def explanation_to_dict(explanation: Any) -> dict[str, Any]:
    return {
        "credit_code": explanation.credit_code,
        "as_of": explanation.as_of.isoformat(),
        "rule_set_version": explanation.rule_set_version,
        "excluded_by": list(explanation.excluded_by),
        "eligible_again": explanation.eligible_again.isoformat() if explanation.eligible_again else None,
        "rules": [
            {
                "rule_id": r.rule_id,
                "status": r.status,
                "failures": list(r.failures),
                "facts": [{"kind": f.kind, "ref": f.ref, "values": f.values} for f in r.facts],
                "eligible_again": r.eligible_again.isoformat() if r.eligible_again else None,
            }
            for r in explanation.rules
        ],
    }


def _impact(args: argparse.Namespace, out: TextIO) -> int:
    from dualdraw.adapters.rules_engine.engine import ExclusionEngine
    from dualdraw.service_layer.rule_preview import impact, rule_texts_at_revision

    rules_dir = _paths([args.rules] if args.rules else [])[0]
    base = load_rule_texts(rule_texts_at_revision(rules_dir, args.base))
    head = load_rule_set(rules_dir)
    snapshot = load_snapshot(args.directory)
    with ExclusionEngine() as engine, Bar(_("evaluating rules"), unit="object") as bar:
        report = impact(
            base,
            head,
            snapshot,
            engine,
            as_of=args.as_of or dt.date.today(),
            business_line=args.business_line,
            department_id=args.department,
            progress=bar.to,
        )
    over = report.over_share(args.max_share) if args.max_share is not None else []
    if args.json_output:
        data = {
            "base_version": report.base_version,
            "head_version": report.head_version,
            "changes": [
                c.__dict__ | {"base_rules": list(c.base_rules), "head_rules": list(c.head_rules)}
                for c in report.changes
            ],
            "departments": {
                k: d.__dict__ | {"excluded_share": round(d.excluded_share, 6)}
                for k, d in report.departments.items()
            },
            "risk_classes": report.risk_classes,
            "over_max_share": [d.department_id for d in over],
        }
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        message = _("rules {base} ({revision}) → {head} (working tree)")
        out.write(
            message.format(base=report.base_version, revision=args.base, head=report.head_version) + "\n"
        )
        for c in report.changes:
            out.write(
                f"{c.change:13} {c.credit_code} dept {c.department_id} risk {c.risk_class}: "
                f"{','.join(c.base_rules) or '-'} → {','.join(c.head_rules) or '-'}\n"
            )
        for d in report.departments.values():
            if d.newly_excluded or d.newly_included:
                message = _(
                    "department {department}: +{excluded} excluded, -{included}"
                    " ({share:.1%} of {eligible} eligible)"
                )
                out.write(
                    message.format(
                        department=d.department_id,
                        excluded=d.newly_excluded,
                        included=d.newly_included,
                        share=d.excluded_share,
                        eligible=d.eligible_before,
                    )
                    + "\n"
                )
        for risk, counts in report.risk_classes.items():
            counted = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            out.write(_("risk class {risk}: {counts}").format(risk=risk, counts=counted) + "\n")
        if not report.changes:
            out.write(_("no object changes") + "\n")
    for d in over:
        message = _(
            "error: department {department} would lose {share:.1%} of its eligible objects"
            " (more than --max-share {max_share})"
        )
        out.write(
            message.format(department=d.department_id, share=d.excluded_share, max_share=args.max_share)
            + "\n"
        )
    return EXIT_PROBLEMS if over else EXIT_OK
