"""A generated directory as the records a client imports: ``ImportDirectory``'s messages, in the order the
client library chunks them (departments first, then objects, inspectors and the side facts)."""

from __future__ import annotations

from typing import Any

from bench.generate import Directory
from dualdraw.entrypoints.grpc import directory_convert as dc


def directory_messages(d: Directory) -> list[Any]:
    """The records of ``d`` as the client library's messages, ready for ``chunk_records``."""
    records: list[Any] = [dc.department_to_pb(x) for x in d.departments]
    records += [dc.object_to_pb(x) for x in d.objects]
    records += [dc.inspector_to_pb(x) for x in d.inspectors]
    records += [dc.complaint_to_pb(x) for x in d.complaints]
    records += [dc.campaign_to_pb(x) for x in d.campaigns]
    records += [dc.risk_assessment_to_pb(x) for x in d.risk_assessments]
    records += [dc.designation_to_pb(x) for x in d.statutory_designations]
    return records
