"""Publication (Art. 5, 13, 14): a draw's results made public as they come, the 20-working-day deadline and
the overdue list, the item list's published versions, and the public read model.

The public read model (``public_*`` functions) is the only way published data leaves the service: the
public API and the static site both go through it, and it reads only what a publication points at.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator

from dualdraw.domain.draw.entropy import LOCAL_SECRET
from dualdraw.domain.errors import FailedPrecondition, NotFound, Violations
from dualdraw.domain.item_list import ItemVersion, changed_fields, list_as_of
from dualdraw.domain.model import Assignment, Draw, InspectionItem
from dualdraw.domain.publication import (
    Publication,
    PublicationDue,
    PublicDraw,
    PublicInspector,
    PublicResult,
)
from dualdraw.domain.results import InspectionResult, inspection_ended_on, result_record_id
from dualdraw.domain.working_days import HolidayCalendar, publication_deadline
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.catalogue import ITEM_CODE
from dualdraw.service_layer.context import CHINA_STANDARD_TIME, Caller
from dualdraw.service_layer.draw_integrity import require_draw_verifies
from dualdraw.service_layer.entropy_policy import LOCAL_SECRET_MARK, is_local_secret
from dualdraw.service_layer.ports import PageRequest, UnitOfWork

MAX_TEXT = 2000


# --- publishing results -------------------------------------------------------------------------------------


def publish_draw(uow: UnitOfWork, calendar: HolidayCalendar, draw_id: str, caller: Caller) -> Publication:
    """Publishes the current version of every result of a draw recorded so far (Art. 14: results are
    published as they come, each within 20 working days of the draw).

    Publishing again after more results or a correction makes the next revision, which carries every
    result published so far; publishing with nothing new returns the latest one; with no result recorded
    there is nothing to publish (``NOTHING_TO_PUBLISH``). Results not yet recorded or published stay in
    ``pending_publications`` until they are.
    The draw must re-derive from its stored rows exactly as committed (``FailedPrecondition``
    ``DRAW_DOES_NOT_VERIFY`` naming the first difference, nothing written); an abandoned draw has nothing
    to publish (``DRAW_ABANDONED``), a draw made with a local secret never will be
    (``LOCAL_ENTROPY_NOT_PUBLISHABLE``: its operator could have known the entropy), nor one with a
    substitution made with a local secret.
    """
    with uow:
        draw = uow.draws.get(draw_id)
        if draw is None:
            raise NotFound("draw", draw_id)
        if draw.state == "abandoned":
            raise FailedPrecondition(f"draw {draw_id} is abandoned", reason="DRAW_ABANDONED")
        task = uow.tasks.get(draw.task_id)
        if task is not None and task.rehearsal:
            raise FailedPrecondition(
                f"draw {draw_id} is a rehearsal of task {task.id}: a rehearsal is never published",
                reason="REHEARSAL_NOT_PUBLISHABLE",
                metadata={"draw_id": draw_id, "task_id": task.id},
            )
        if is_local_secret(draw):
            raise FailedPrecondition(
                f"draw {draw_id} was made with a local secret ({LOCAL_SECRET_MARK}): its entropy is the "
                "server's own, which an insider could have known; draw again with a beacon round or "
                "commit-reveal",
                reason="LOCAL_ENTROPY_NOT_PUBLISHABLE",
                metadata={"draw_id": draw_id},
            )
        for sub in uow.lifecycle.substitutions(draw_id):
            if sub.state == "executed" and json.loads(sub.entropy_source).get("kind") == LOCAL_SECRET:
                raise FailedPrecondition(
                    f"substitution {sub.id} of draw {draw_id} took its replacement from a local secret "
                    "(development only): an insider could have known who replaces whom",
                    reason="LOCAL_ENTROPY_NOT_PUBLISHABLE",
                    metadata={"draw_id": draw_id, "substitution_id": sub.id},
                )
        current = uow.results.current(draw_id)
        if not current:
            raise FailedPrecondition(
                f"draw {draw_id} has no recorded result yet"
                + ("" if draw.selected_count else " (it selected no object)"),
                reason="NOTHING_TO_PUBLISH",
                metadata={"draw_id": draw_id},
            )
        versions = tuple(sorted((p, r.version) for p, r in current.items()))
        latest = uow.publications.latest(draw_id)
        if latest is not None and latest.versions == versions:
            return latest
        # the last inspection day this revision covers (the draw's, once every assignment has a result)
        ended = max(r.entry.inspected_on for r in current.values())
        require_draw_verifies(uow, draw_id)
        publication = uow.publications.add(
            Publication(
                sequence=0,
                draw_id=draw_id,
                revision=(latest.revision + 1) if latest else 1,
                published_at=caller.now,
                published_by=caller.actor,
                inspection_ended_on=ended,
                deadline=publication_deadline(calendar, drawn_on(draw)),
                verification="match",
                versions=versions,
            )
        )
        record_event(
            uow, caller, action="results.publish", resource=f"draws/{draw_id}/publication", after=publication
        )
        crash_point("publish.before_commit")
        uow.commit()
    crash_point("publish.after_commit")
    return publication


def drawn_on(draw: Draw) -> dt.date:
    """The day (China Standard Time) a draw was made: executed, or committed when not executed yet."""
    return (draw.executed_at or draw.created_at).astimezone(CHINA_STANDARD_TIME).date()


def pending_publications(
    uow: UnitOfWork, calendar: HolidayCalendar, today: dt.date, *, overdue_only: bool = False
) -> list[PublicationDue]:
    """Executed draws with assignments not yet recorded or results not yet public.

    The deadline is 20 working days after the draw (Art. 14: results are published as they come); overdue
    means ``today`` is past it. An assignment without a result counts as unrecorded, so a draw whose
    inspections were never recorded shows up as overdue too. Rehearsals are never published, so never due.
    """
    out: list[PublicationDue] = []
    published_all = None
    after: str | None = None
    while True:
        with uow:
            if published_all is None:
                published_all = uow.publications.latest_all()
            page = uow.draws.list(PageRequest(size=500, after=after))
            for draw in page.items:
                if draw.state != "executed" or draw.selected_count == 0 or draw.rehearsal:
                    continue
                current = uow.results.current(draw.id)
                latest = published_all.get(draw.id)
                shown = dict(latest.versions) if latest else {}
                unpublished = sum(1 for p, r in current.items() if shown.get(p) != r.version)
                unrecorded = draw.selected_count - len(current)
                if unpublished == 0 and unrecorded == 0:
                    continue
                deadline = publication_deadline(calendar, drawn_on(draw))
                if overdue_only and today <= deadline:
                    continue
                ended = inspection_ended_on(list(current.values()), draw.selected_count)
                overdue = calendar.working_days_between(deadline, today)
                out.append(
                    PublicationDue(draw.id, draw.task_id, ended, deadline, overdue, unpublished, unrecorded)
                )
        if page.next_after is None:
            break
        after = page.next_after
    return sorted(out, key=lambda d: (d.deadline, d.draw_id))


# --- the item list ----------------------------------------------------------------------------------


def _change_problems(summary: str, basis: str, v: Violations) -> None:
    if not summary.strip():
        v.add("change_summary", "say what changed", reason="FIELD_REQUIRED")
    elif len(summary) > MAX_TEXT:
        v.add("change_summary", f"at most {MAX_TEXT} characters", reason="VALUE_TOO_LONG")
    if not basis.strip():
        v.add("change_legal_basis", "name the legal basis of the change (Art. 5)", reason="FIELD_REQUIRED")
    elif len(basis) > MAX_TEXT:
        v.add("change_legal_basis", f"at most {MAX_TEXT} characters", reason="VALUE_TOO_LONG")


def _same_content(a: InspectionItem, b: InspectionItem) -> bool:
    return not changed_fields(a, b)


def _all_items(uow: UnitOfWork) -> Iterator[InspectionItem]:
    after: str | None = None
    while True:
        page = uow.items.list(PageRequest(size=500, after=after))
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def _check_publication_date(effective_from: dt.date, published_on: dt.date, v: Violations) -> None:
    """A version takes effect no earlier than its publication (``published_on``, Asia/Shanghai): what the
    list showed for a past day never changes."""
    if effective_from < published_on:
        v.add(
            "effective_from",
            f"must not be before the publication date {published_on} (Asia/Shanghai): a published version "
            "takes effect no earlier than its publication",
            reason="DATE_ORDER",
        )


def _check_effective(latest: ItemVersion | None, effective_from: dt.date, v: Violations) -> None:
    if latest is not None and effective_from < latest.effective_from:
        v.add(
            "effective_from",
            f"must not be before version {latest.version} of {latest.code} ({latest.effective_from})",
            reason="DATE_ORDER",
        )


def publish_item_list(
    uow: UnitOfWork,
    *,
    effective_from: dt.date,
    change_summary: str,
    change_legal_basis: str,
    caller: Caller,
) -> list[ItemVersion]:
    """Publishes every item that is new or changed since its last published version, in one step."""
    v = Violations()
    _change_problems(change_summary, change_legal_basis, v)
    _check_publication_date(effective_from, caller.today(), v)
    v.raise_if_any()
    made: list[ItemVersion] = []
    with uow:
        latest: dict[str, ItemVersion] = {}
        for version in uow.item_versions.all():
            latest[version.code] = version
        for item in _all_items(uow):
            held = latest.get(item.code)
            if held is not None and _same_content(held.item, item):
                continue
            _check_effective(held, effective_from, v)
            made.append(
                ItemVersion(
                    code=item.code,
                    version=(held.version + 1) if held else 1,
                    item=item,
                    effective_from=effective_from,
                    published_at=caller.now,
                    published_by=caller.actor,
                    change_summary=change_summary.strip(),
                    change_legal_basis=change_legal_basis.strip(),
                    changed_fields=changed_fields(held.item if held else None, item),
                )
            )
        v.raise_if_any()
        for version in made:
            uow.item_versions.add(version)
            record_event(
                uow,
                caller,
                action="item.publish",
                resource=f"items/{version.code}/versions/{version.version}",
                before=latest.get(version.code),
                after=version,
            )
        uow.commit()
    return made


def revise_item(
    uow: UnitOfWork,
    revised: InspectionItem,
    *,
    effective_from: dt.date,
    change_summary: str,
    change_legal_basis: str,
    caller: Caller,
) -> ItemVersion:
    """Changes an item of the list and publishes the change as its next version (Art. 5: adjusted
    dynamically when laws change), recording what changed, from when and on which legal basis."""
    v = Violations()
    _change_problems(change_summary, change_legal_basis, v)
    _check_publication_date(effective_from, caller.today(), v)
    if not ITEM_CODE.match(revised.code):
        v.add("item.code", "must be 1-32 characters of A-Z, 0-9 and '-'", reason="ITEM_CODE_INVALID")
    with uow:
        current = uow.items.get(revised.code)
        if current is None:
            raise NotFound("inspection item", revised.code)
        if uow.directory.get_department(revised.department_id) is None:
            v.add(
                "item.department_id",
                f"unknown department {revised.department_id!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
        history = uow.item_versions.history(revised.code)
        held = history[-1] if history else None
        _check_effective(held, effective_from, v)
        item = dataclasses.replace(revised, created_at=current.created_at)
        base = held.item if held else None
        if base is not None and _same_content(base, item):
            v.add("item", "is identical to the published version", reason="NO_CHANGE")
        v.raise_if_any()
        version = ItemVersion(
            code=item.code,
            version=(held.version + 1) if held else 1,
            item=item,
            effective_from=effective_from,
            published_at=caller.now,
            published_by=caller.actor,
            change_summary=change_summary.strip(),
            change_legal_basis=change_legal_basis.strip(),
            changed_fields=changed_fields(base, item),
        )
        uow.item_versions.replace_item(item)
        uow.item_versions.add(version)
        record_event(
            uow,
            caller,
            action="item.revise",
            resource=f"items/{item.code}/versions/{version.version}",
            before=held,
            after=version,
        )
        uow.commit()
    return version


def item_history(uow: UnitOfWork, code: str) -> list[ItemVersion]:
    """The published versions of one item (``NotFound`` when it was never published)."""
    with uow:
        history = uow.item_versions.history(code)
    if not history:
        raise NotFound("published inspection item", code)
    return history


def public_items(uow: UnitOfWork, day: dt.date) -> list[ItemVersion]:
    """The published item list as it stood on ``day``."""
    with uow:
        return list_as_of(uow.item_versions.all(), day)


def public_item_version(uow: UnitOfWork, code: str, *, day: dt.date | None, version: int) -> ItemVersion:
    history = item_history(uow, code)
    if version:
        for held in history:
            if held.version == version:
                return held
        raise NotFound("published inspection item version", f"{code}/v{version}")
    found = list_as_of(history, day or dt.date.max)
    if not found:
        raise NotFound("published inspection item", f"{code} as of {day}")
    return found[0]


# --- the public read model ----------------------------------------------------------------------------


def _public_draw(uow: UnitOfWork, draw: Draw, publication: Publication) -> PublicDraw:
    task = uow.tasks.get(draw.task_id)
    assert task is not None
    item = uow.items.get(task.item_code)
    department = uow.directory.get_department(task.department_id)
    return PublicDraw(
        draw_id=draw.id,
        task_id=task.id,
        task_title=task.title,
        item_code=task.item_code,
        item_name=item.name if item else "",
        department_id=task.department_id,
        department_name=department.name if department else "",
        drawn_at=draw.created_at,
        as_of=draw.as_of,
        algorithm_version=draw.algorithm_version,
        seed=draw.seed,
        entropy_source=draw.entropy_source,
        entropy=draw.entropy,
        manifest_hash=draw.manifest_hash,
        rule_set_hash=draw.rule_set_hash,
        rule_set_version=draw.rule_set_version,
        in_scope_count=draw.in_scope_count,
        excluded_count=draw.excluded_count,
        eligible_count=draw.eligible_count,
        selected_count=draw.selected_count,
        ratio=f"{draw.ratio.numerator}/{draw.ratio.denominator}",
        team_size=draw.team_size,
        eligible_digest=draw.eligible_digest,
        inspector_pool_digest=draw.inspector_pool_digest,
        verification=publication.verification,
        published_at=publication.published_at,
        revision=publication.revision,
        inspection_ended_on=publication.inspection_ended_on,
        deadline=publication.deadline,
    )


def public_draws(uow: UnitOfWork) -> list[PublicDraw]:
    """Every draw whose results are published, newest publication first."""
    with uow:
        out = []
        for draw_id, publication in uow.publications.latest_all().items():
            draw = uow.draws.get(draw_id)
            assert draw is not None
            out.append(_public_draw(uow, draw, publication))
    return sorted(out, key=lambda d: (d.published_at, d.draw_id), reverse=True)


def public_draw(uow: UnitOfWork, draw_id: str) -> PublicDraw:
    with uow:
        publication = uow.publications.latest(draw_id)
        draw = uow.draws.get(draw_id) if publication else None
        if publication is None or draw is None:
            raise NotFound("published draw", draw_id)  # unpublished and unknown look the same
        return _public_draw(uow, draw, publication)


def _public_results(uow: UnitOfWork, publication: Publication) -> list[PublicResult]:
    draw = uow.draws.get(publication.draw_id)
    assert draw is not None
    public_draw_ = _public_draw(uow, draw, publication)
    results = uow.results.get_many([(publication.draw_id, p, ver) for p, ver in publication.versions])
    assignments = _all_assignments(uow, publication.draw_id)
    objects = uow.directory.objects_by_code({r.credit_code for r in results})
    badges = {m.badge_number for a in assignments.values() for m in a.team}
    inspectors = uow.directory.inspectors_by_badge(badges)
    first = _first_published(uow, publication)
    out = []
    for r in results:
        assignment = assignments[r.position]
        obj = objects.get(r.credit_code)
        team = tuple(
            PublicInspector(
                m.badge_number,
                inspectors[m.badge_number].name if m.badge_number in inspectors else "",
                m.leader,
            )
            for m in assignment.team
        )
        name, region = (obj.name, obj.region_code) if obj else ("", "")
        out.append(_to_public(r, public_draw_, first[(r.position, r.version)], name, region, team))
    return out


def _first_published(uow: UnitOfWork, publication: Publication) -> dict[tuple[int, int], Publication]:
    """For each (position, version) ``publication`` carries, the revision of the draw that first published
    it: a result's publication time and its sequence are those of the revision it came out in."""
    chain = [publication]
    while (earlier := uow.publications.previous(chain[-1])) is not None:
        chain.append(earlier)
    first: dict[tuple[int, int], Publication] = {}
    for revision in reversed(chain):
        for key in revision.versions:
            first.setdefault(key, revision)
    return first


def _all_assignments(uow: UnitOfWork, draw_id: str) -> dict[int, Assignment]:
    out: dict[int, Assignment] = {}
    after: str | None = None
    while True:
        page = uow.draws.list_assignments(draw_id, PageRequest(size=1000, after=after))
        out.update({a.position: a for a in page.items})
        if page.next_after is None:
            return out
        after = page.next_after


def _to_public(
    r: InspectionResult,
    d: PublicDraw,
    publication: Publication,
    object_name: str,
    region_code: str,
    team: tuple[PublicInspector, ...],
) -> PublicResult:
    e = r.entry
    return PublicResult(
        record_id=r.record_id,
        draw_id=r.draw_id,
        task_id=d.task_id,
        position=r.position,
        version=r.version,
        credit_code=r.credit_code,
        object_name=object_name,
        region_code=region_code,
        item_code=d.item_code,
        item_name=d.item_name,
        department_id=d.department_id,
        department_name=d.department_name,
        inspected_on=e.inspected_on,
        outcome=e.outcome,
        findings=e.findings,
        penalty_decision_number=e.penalty_decision_number,
        referred_to_judicial=e.referred_to_judicial,
        attachment_sha256=e.attachment_sha256,
        team=team,
        published_at=publication.published_at,
        publication_sequence=publication.sequence,
        correction_reason=r.correction_reason,
        supersedes=result_record_id(r.draw_id, r.position, r.version - 1) if r.version > 1 else "",
        deadline=d.deadline,
    )


def public_results(uow: UnitOfWork, *, draw_id: str = "", credit_code: str = "") -> list[PublicResult]:
    """Published results (the latest publication of each draw), optionally of one draw or one object."""
    with uow:
        publications = uow.publications.latest_all()
        if draw_id:
            publications = {draw_id: publications[draw_id]} if draw_id in publications else {}
        out: list[PublicResult] = []
        for publication in publications.values():
            if credit_code and not _publication_mentions(uow, publication, credit_code):
                continue
            out.extend(_public_results(uow, publication))
    if credit_code:
        out = [r for r in out if r.credit_code == credit_code]
    return sorted(out, key=lambda r: (r.draw_id, r.position))


def _publication_mentions(uow: UnitOfWork, publication: Publication, credit_code: str) -> bool:
    current = uow.results.current(publication.draw_id)
    return any(r.credit_code == credit_code for r in current.values())


def credit_increments(
    uow: UnitOfWork, since: int, limit: int = 200
) -> Iterator[tuple[Publication, list[PublicResult]]]:
    """Publications after checkpoint ``since`` with the results each one made public for the first time
    (a republication after a correction carries only the corrected results)."""
    while True:
        with uow:
            batch = uow.publications.after(since, limit)
            chunk = []
            for publication in batch:
                previous = uow.publications.previous(publication)
                before = set(previous.versions) if previous else set()
                fresh = [
                    r for r in _public_results(uow, publication) if (r.position, r.version) not in before
                ]
                chunk.append((publication, fresh))
        yield from chunk
        if len(batch) < limit:
            return
        since = batch[-1].sequence
