"""An import's stages one by one, in-process: where ``ImportDirectory``'s time goes (``bench.run`` reports
them as ``import_stages_s`` beside the import's objects per second through gRPC).

The stages are the server's own steps, each timed over the whole generated directory, as the client
library chunks it: decoding the chunks' bytes, the text check of every string (the validation interceptor),
the conversion to domain records, the ownership checks a restricted caller gets per chunk (the stored
owner of each replaced record; here the province department's operator on an empty directory), the
use case's checks (credit-code check characters among them, also timed alone), its audit view of the
import, the write alone (rolled back), then the whole use case, and the ownership checks of importing the
same directory again (every record now has a stored owner to check). Through gRPC the server overlaps only
the checks and the audit view with the write (a worker thread); the objects are written after the stream
has arrived. As in the server, each chunk is decoded, checked and converted before the next; decoding
(``parse_chunk``) also reads the objects' fields from the chunk's bytes, once for the text check and the
conversion (``object_fields``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from bench.directory_messages import directory_messages
from bench.generate import PROVINCE, Directory
from dualdraw.adapters.store import Store
from dualdraw.domain.credit_code import all_valid
from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc import directory_convert, directory_servicer
from dualdraw.entrypoints.grpc.object_fields import parse_chunk
from dualdraw.entrypoints.grpc.security import resources
from dualdraw.entrypoints.grpc.validation import check_message
from dualdraw.service_layer import directory as use_case
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import DirectoryBatch
from dualdraw.v1 import directory_pb2
from dualdraw_client import chunk_records


def _timed(seconds: dict[str, float], stage: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = fn()
    seconds[stage] = round(time.perf_counter() - start, 3)
    return value


def import_stages(url: str, d: Directory) -> dict[str, float]:
    """Seconds per stage of importing ``d`` into the empty migrated database at ``url``, which holds ``d``
    afterwards (``use_case``: the whole import in-process, committed)."""
    records = directory_messages(d)
    s: dict[str, float] = {}
    wire = _timed(s, "client_chunking", lambda: [c.SerializeToString() for c in chunk_records(records)])
    v = Violations()
    batch = DirectoryBatch()
    chunks = []
    spent = {"decode": 0.0, "text_check": 0.0, "convert": 0.0}
    for serialized in wire:  # one chunk at a time, as the server takes them
        start = time.perf_counter()
        chunk = parse_chunk(serialized)
        parsed = time.perf_counter()
        check_message(chunk, "", v)
        checked = time.perf_counter()
        _convert(chunk, batch, v)
        spent["decode"] += parsed - start
        spent["text_check"] += checked - parsed
        spent["convert"] += time.perf_counter() - checked
        chunks.append(chunk)
    s |= {stage: round(seconds, 3) for stage, seconds in spent.items()}
    if v:
        raise AssertionError(f"the generated directory has problems: {v.items[:3]}")
    store = Store.from_url(url)
    try:

        def ownership(allowed: set[str]) -> None:
            codes: set[str] = set()
            for chunk in chunks:
                with store.read_unit_of_work() as uow:
                    if resources.first_outside(uow, chunk, allowed, codes) is not None:
                        raise AssertionError("a generated record is outside the province")

        # A first import by the province's operator: its subtree, and the province's own record ("" parent).
        _timed(s, "ownership", lambda: ownership({"", *(x.id for x in d.departments)}))
        with store.unit_of_work() as uow:
            facts = _timed(s, "stored_facts", lambda: use_case._stored_facts(uow, batch))
            kinds = _timed(s, "replaced_records", lambda: use_case._replaced(uow, batch))
        object_codes = list(map(attrgetter("credit_code"), batch.objects))
        _timed(s, "credit_codes", lambda: all_valid(object_codes))
        _timed(s, "checks", lambda: use_case._check(batch, facts, kinds))  # credit codes included
        _timed(s, "audit_view", lambda: use_case._changes(kinds))
        with store.unit_of_work() as uow:
            _timed(s, "write", lambda: use_case._write(uow, batch))  # rolled back: the database stays empty
        caller = Caller(actor="bench")
        _timed(s, "use_case", lambda: use_case.import_directory(store.unit_of_work(), batch, caller))
        with store.read_unit_of_work() as uow:
            allowed = set(resources.subtree(uow, PROVINCE))
        _timed(s, "ownership_of_a_reimport", lambda: ownership(allowed))  # every record has a stored owner
    finally:
        store.dispose()
    return s


def _convert(chunk: directory_pb2.ImportDirectoryRequest, batch: DirectoryBatch, v: Violations) -> None:
    """What ``ImportDirectory`` does with each chunk's records."""
    collect = directory_servicer._collect
    collect(chunk.departments, batch.departments, "departments", directory_convert.department_from_pb, v)
    directory_servicer._collect_objects(chunk.objects, batch.objects, v)
    collect(chunk.inspectors, batch.inspectors, "inspectors", directory_convert.inspector_from_pb, v)
    collect(chunk.complaints, batch.complaints, "complaints", directory_convert.complaint_from_pb, v)
    collect(chunk.campaigns, batch.campaigns, "campaigns", directory_convert.campaign_from_pb, v)
    collect(
        chunk.risk_assessments,
        batch.risk_assessments,
        "risk_assessments",
        directory_convert.risk_assessment_from_pb,
        v,
    )
    collect(
        chunk.statutory_designations,
        batch.statutory_designations,
        "statutory_designations",
        directory_convert.designation_from_pb,
        v,
    )
