"""Publications of draws' results (``PublicationRepository``)."""

from __future__ import annotations

import builtins
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.repositories.base import READ_BATCH, SqlRepository
from dualdraw.adapters.store.rows import PUBLICATIONS, PUBLISHED, Row
from dualdraw.domain.errors import AlreadyExists
from dualdraw.domain.publication import Publication


class SqlPublicationRepository(SqlRepository):
    """Publications of draws' results (``PublicationRepository``)."""

    def add(self, publication: Publication) -> Publication:
        values = {
            "draw_id": publication.draw_id,
            "revision": publication.revision,
            "published_at": publication.published_at,
            "published_by": publication.published_by,
            "inspection_ended_on": publication.inspection_ended_on,
            "deadline": publication.deadline,
            "verification": publication.verification,
        }
        try:
            with self._session.begin_nested():
                result = self._connection.execute(sa.insert(PUBLICATIONS).values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(
                f"draw {publication.draw_id!r} was published concurrently; retry",
                reason="PUBLICATION_CONFLICT",
                metadata={"draw_id": publication.draw_id},
            ) from exc
        key = result.inserted_primary_key
        if key is None or key[0] is None:  # pragma: no cover - both backends report the new key
            raise RuntimeError("the database did not report the publication's sequence")
        sequence = int(key[0])
        if publication.versions:
            self._connection.execute(
                sa.insert(PUBLISHED),
                [
                    {
                        "publication_sequence": sequence,
                        "position": position,
                        "draw_id": publication.draw_id,
                        "version": version,
                    }
                    for position, version in publication.versions
                ],
            )
        return Publication(
            sequence=sequence,
            draw_id=publication.draw_id,
            revision=publication.revision,
            published_at=publication.published_at.astimezone(dt.UTC),
            published_by=publication.published_by,
            inspection_ended_on=publication.inspection_ended_on,
            deadline=publication.deadline,
            verification=publication.verification,
            versions=publication.versions,
        )

    def _load(self, rows: builtins.list[Row]) -> builtins.list[Publication]:
        sequences = [r.sequence for r in rows]
        versions: dict[int, builtins.list[tuple[int, int]]] = {s: [] for s in sequences}
        for start in range(0, len(sequences), READ_BATCH):
            batch = sequences[start : start + READ_BATCH]
            for v in self._connection.execute(
                sa.select(PUBLISHED)
                .where(PUBLISHED.c.publication_sequence.in_(batch))
                .order_by(PUBLISHED.c.publication_sequence, PUBLISHED.c.position)
            ):
                versions[v.publication_sequence].append((v.position, v.version))
        return [
            Publication(
                sequence=r.sequence,
                draw_id=r.draw_id,
                revision=r.revision,
                published_at=r.published_at,
                published_by=r.published_by,
                inspection_ended_on=r.inspection_ended_on,
                deadline=r.deadline,
                verification=r.verification,
                versions=tuple(versions[r.sequence]),
            )
            for r in rows
        ]

    def latest(self, draw_id: str) -> Publication | None:
        row = self._connection.execute(
            sa.select(PUBLICATIONS)
            .where(PUBLICATIONS.c.draw_id == draw_id)
            .order_by(PUBLICATIONS.c.revision.desc())
            .limit(1)
        ).first()
        return None if row is None else self._load([row])[0]

    def latest_all(self) -> dict[str, Publication]:
        latest = (
            sa.select(PUBLICATIONS.c.draw_id.label("d"), sa.func.max(PUBLICATIONS.c.revision).label("r"))
            .group_by(PUBLICATIONS.c.draw_id)
            .subquery()
        )
        rows = self._connection.execute(
            sa.select(PUBLICATIONS)
            .join(
                latest, sa.and_(PUBLICATIONS.c.draw_id == latest.c.d, PUBLICATIONS.c.revision == latest.c.r)
            )
            .order_by(PUBLICATIONS.c.draw_id)
        ).all()
        return {p.draw_id: p for p in self._load(builtins.list(rows))}

    def after(self, sequence: int, limit: int) -> builtins.list[Publication]:
        rows = self._connection.execute(
            sa.select(PUBLICATIONS)
            .where(PUBLICATIONS.c.sequence > sequence)
            .order_by(PUBLICATIONS.c.sequence)
            .limit(limit)
        ).all()
        return self._load(builtins.list(rows))

    def previous(self, publication: Publication) -> Publication | None:
        row = self._connection.execute(
            sa.select(PUBLICATIONS).where(
                PUBLICATIONS.c.draw_id == publication.draw_id,
                PUBLICATIONS.c.revision == publication.revision - 1,
            )
        ).first()
        return None if row is None else self._load([row])[0]
