"""The line bundle (``dualdraw-bundle-lines/2`` for the ``dualdraw-draw/4`` draws made today,
``dualdraw-bundle-lines/1`` before): the same values as the one-document form, streamed through the API and
the CLI, verified line by line, and every kind of tampering caught (each test runs on SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.entrypoints.cli.main import main as dualdraw_main
from dualdraw.runtime import external_sort
from dualdraw.service_layer import bundles
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.verifier.bundle import ObjectCheck, verify_bundle
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main

from .conftest import Served
from .test_draw_e2e import demo_task
from .test_verifiable_draws_e2e import commit_reveal_source

LISTS = {
    "dualdraw-bundle-lines/1": ("eligible", "exclusions", "assignments"),
    "dualdraw-bundle-lines/2": ("raised", "eligible", "plan", "exclusions", "assignments"),
}
"""The sections of each line form, in order (docs/DRAW-ALGORITHM.md §12.1, §12.2)."""
LINE_FORM = {"dualdraw-bundle/1": "dualdraw-bundle-lines/1", "dualdraw-bundle/2": "dualdraw-bundle-lines/2"}


def sections(content: bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The header and the rows of each section of a line bundle."""
    lines = content.split(b"\n")
    assert lines[-1] == b""
    header = json.loads(lines[0])
    rows: dict[str, list[Any]] = {}
    current = ""
    for line in lines[1:-1]:
        value = json.loads(line)
        if isinstance(value, str):
            current = value
            rows[current] = []
        else:
            rows[current].append(value)
    assert list(rows) == [*LISTS[header["format"]], "end"]
    return header, rows


def assemble(header: dict[str, Any], rows: dict[str, list[Any]]) -> bytes:
    out = [canonical_json(header)]
    for name in LISTS[header["format"]]:
        out.append(canonical_json(name))
        out.extend(canonical_json(row) for row in rows[name])
    out.append(b'"end"')
    return b"\n".join(out) + b"\n"


def lines_of(document: dict[str, Any]) -> bytes:
    """The line form of a ``dualdraw-bundle/1`` document as docs/DRAW-ALGORITHM.md §12.1 states it, with
    the standard library only (its JSON encoder writes RFC 8785 for these values: no floats, ASCII names)."""

    def canon(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    form = LINE_FORM[document["format"]]
    lists = LISTS[form]
    header = {k: v for k, v in document.items() if k not in lists} | {"format": form}
    out = [canon(header)]
    for name in lists:
        out.append(canon(name))
        out.extend(canon(row) for row in document[name])
    out.append(b'"end"')
    return b"\n".join(out) + b"\n"


@pytest.fixture
def executed(demo_served: Served, client: DualdrawClient) -> str:
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    first = next(client.iter_assignments(draw.id))
    sub = client.request_substitution(draw.id, 1, first.team[1].badge_number, "LEAVE", "ab" * 32)
    client.execute_substitution(sub.id)
    return draw.id


def test_a_line_bundle_holds_the_same_values_as_the_json_bundle_and_verifies(
    demo_served: Served, client: DualdrawClient, executed: str
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    source = commit_reveal_source(later, {"bureau": b"lines 1", "discipline-office": b"lines 2"})
    committed = client.commit_draw(demo_task(client).id, source, as_of=DEMO_AS_OF).id
    uow = demo_served.running.services.unit_of_work
    for draw_id in (executed, committed):
        for variant in (bundles.FULL, bundles.PUBLIC):
            document = json.loads(bundles.export_bundle(uow(), draw_id, variant=variant))
            lines = client.export_draw_bundle(draw_id, public=variant == bundles.PUBLIC, lines=True)
            assert lines == bundles.export_bundle(uow(), draw_id, variant=variant, form=bundles.LINES_FORMAT)
            assert lines == lines_of(document)
            header, rows = sections(lines)
            assert document["format"] == "dualdraw-bundle/2"  # every new draw is a dualdraw-draw/4 draw
            assert header["format"] == "dualdraw-bundle-lines/2"
            lists = LISTS[header["format"]]
            assert header | {k: document[k] for k in lists} == document | {"format": header["format"]}
            assert {k: rows[k] for k in lists} == {k: document[k] for k in lists}
            report = verify_bundle(lines)
            assert report.ok, (draw_id, variant, report.problem)
            whole = verify_bundle(bundles.export_bundle(uow(), draw_id, variant=variant))
            assert sorted(report.notes) == sorted(whole.notes)
    assert json.loads(lines.split(b"\n")[0])["draw"]["seed"] == ""  # the committed draw came last


def test_sorting_in_spilled_runs_gives_the_same_bundle_and_verdict(
    demo_served: Served, executed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = demo_served.running.services.unit_of_work
    whole = bundles.export_bundle(uow(), executed, form=bundles.LINES_FORMAT)
    monkeypatch.setattr(external_sort, "RUN_ITEMS", 7)  # the demo draw's rows: many runs on disk
    assert bundles.export_bundle(uow(), executed, form=bundles.LINES_FORMAT) == whole
    assert verify_bundle(whole).ok
    public = bundles.export_bundle(uow(), executed, variant=bundles.PUBLIC, form=bundles.LINES_FORMAT)
    assert verify_bundle(public).ok


def _swap_first_two(rows: list[Any]) -> None:
    rows[0], rows[1] = rows[1], rows[0]


def _exclude_an_eligible_object(header: dict[str, Any], rows: dict[str, list[Any]]) -> None:
    rows["exclusions"].insert(0, [rows["eligible"][0]["code"], rows["exclusions"][0][1]])
    rows["exclusions"].sort()


TAMPERING: list[tuple[str, Callable[[dict[str, Any], dict[str, list[Any]]], None], str]] = [
    ("salt", lambda h, r: r["eligible"][3].update(salt="0" * 64), "eligible: the set does not match"),
    ("order", lambda h, r: _swap_first_two(r["eligible"]), "not in ascending order of codes"),
    ("dropped row", lambda h, r: r["eligible"].pop(5), "eligible"),
    ("exclusion", _exclude_an_eligible_object, "exclusions"),
    ("team", lambda h, r: r["assignments"][1]["team"].reverse(), "assignments[1].team"),
    ("selection", lambda h, r: r["assignments"][0].update(code=r["eligible"][0]["code"]), "log: the execute"),
    ("dropped assignment", lambda h, r: r["assignments"].pop(), "log: the execute event"),
    ("pool", lambda h, r: h["pool"].pop(), "pool: does not match"),
    ("plan office", lambda h, r: r["plan"][2].update(office="elsewhere"), "plan: does not match"),
    ("plan row", lambda h, r: r["plan"].pop(3), "plan: count differs"),
    ("plan bars", lambda h, r: r["plan"][0].update(conflicts=["ZZ-1"]), "plan: does not match"),
]


@pytest.mark.parametrize(("what", "tamper", "expected"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_with_a_full_line_bundle_is_caught(
    demo_served: Served,
    executed: str,
    what: str,
    tamper: Callable[[dict[str, Any], dict[str, list[Any]]], None],
    expected: str,
) -> None:
    uow = demo_served.running.services.unit_of_work
    header, rows = sections(bundles.export_bundle(uow(), executed, form=bundles.LINES_FORMAT))
    assert rows["exclusions"], "the demo draw excludes objects"
    tamper(header, rows)
    report = verify_bundle(assemble(header, rows))
    assert not report.ok, what
    assert expected in report.problem, (what, report.problem)


def test_an_object_checks_its_own_ticket_in_either_line_bundle(demo_served: Served, executed: str) -> None:
    uow = demo_served.running.services.unit_of_work
    row = json.loads(bundles.export_bundle(uow(), executed))["eligible"][4]
    mine = ObjectCheck(row["code"], row["risk_class"], row["salt"])
    wrong = ObjectCheck(row["code"], row["risk_class"], "0" * 64)
    for variant in (bundles.FULL, bundles.PUBLIC):
        content = bundles.export_bundle(uow(), executed, variant=variant, form=bundles.LINES_FORMAT)
        report = verify_bundle(content, own_object=mine)
        assert report.ok, report.problem
        assert any(note.startswith(f"object {row['code']}: ticket checked") for note in report.notes)
        refused = verify_bundle(content, own_object=wrong)
        assert not refused.ok
        assert refused.problem.startswith(f"object {row['code']}:")


def test_a_cut_or_padded_or_reformatted_line_bundle_is_refused(demo_served: Served, executed: str) -> None:
    uow = demo_served.running.services.unit_of_work
    content = bundles.export_bundle(uow(), executed, form=bundles.LINES_FORMAT)
    lines = content.split(b"\n")
    cut = verify_bundle(b"\n".join(lines[:-3]) + b"\n")
    assert not cut.ok
    assert "ends at line" in cut.problem
    padded = verify_bundle(content + b"\n")
    assert not padded.ok
    assert "after the end marker" in padded.problem
    spaced = lines[:]
    first = lines.index(b'"eligible"') + 1
    spaced[first] = spaced[first].replace(b'","', b'", "', 1)
    reformatted = verify_bundle(b"\n".join(spaced))
    assert not reformatted.ok
    assert "eligible[0]: not in canonical form" in reformatted.problem
    no_newline = verify_bundle(content[:-1])
    assert not no_newline.ok


def test_tampering_with_a_public_line_bundle_is_caught(demo_served: Served, executed: str) -> None:
    uow = demo_served.running.services.unit_of_work
    header, rows = sections(
        bundles.export_bundle(uow(), executed, variant=bundles.PUBLIC, form=bundles.LINES_FORMAT)
    )
    selected = {a["ticket"] for a in rows["assignments"]}
    unselected = next(r for r in rows["eligible"] if r["ticket"] not in selected)
    unselected["ticket"] = "0" * 64  # an unselected object listed with the lowest ticket of all
    report = verify_bundle(assemble(header, rows))
    assert not report.ok
    assert "ticket is not the 1. lowest" in report.problem
    header, rows = sections(
        bundles.export_bundle(uow(), executed, variant=bundles.PUBLIC, form=bundles.LINES_FORMAT)
    )
    _swap_first_two(rows["eligible"])
    assert "commitments are not in ascending order" in verify_bundle(assemble(header, rows)).problem
    header, rows = sections(
        bundles.export_bundle(uow(), executed, variant=bundles.PUBLIC, form=bundles.LINES_FORMAT)
    )
    rows["plan"][0]["leaf"]["department_id"] = "elsewhere"  # a selected object handed to another department
    assert "is not proven in the manifest's plan_root" in verify_bundle(assemble(header, rows)).problem
    header, rows = sections(
        bundles.export_bundle(uow(), executed, variant=bundles.PUBLIC, form=bundles.LINES_FORMAT)
    )
    rows["plan"].pop()
    assert "exactly the selected objects' plan rows" in verify_bundle(assemble(header, rows)).problem


def test_dualdraw_draw_export_lines_then_verify_on_the_command_line(
    demo_served: Served, executed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "draw.jsonl"
    assert (
        cli_main(["draw", "export", executed, "-o", str(out), "--lines", "--server", demo_served.target]) == 0
    )
    assert out.read_bytes().startswith(b'{"draw":')
    capsys.readouterr()
    assert dualdraw_main(["verify", str(out)]) == 0
    assert "MATCH" in capsys.readouterr().out
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(out.read_bytes().replace(b'"end"\n', b'"end"\n"end"\n'))
    assert dualdraw_main(["verify", str(tampered)]) == 1
    assert "MISMATCH: bundle: more after the end marker" in capsys.readouterr().out
