"""Remote commands of evidence files: ``evidence upload/download/list/show``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Final

from dualdraw.v1 import evidence_pb2

from ..client import DualdrawClient
from ..i18n import _
from ..progress import Bar
from .options import add_command, add_group, idempotency_key, limited
from .output import Output, aligned_pairs, show_time

_TRANSFER_TIMEOUT: Final = 600.0  # one deadline for a whole upload or download without --timeout


def evidence_pairs(e: evidence_pb2.Evidence) -> list[tuple[str, str]]:
    return [
        ("name", e.name),
        ("SHA-256", e.sha256),
        ("size (bytes)", str(e.size_bytes)),
        ("content type", e.content_type),
        ("file name", e.file_name),
        ("uploaded by", e.uploader),
        ("uploaded at", show_time(e.upload_time)),
    ]


def _cmd_upload(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    timeout = args.timeout if args.timeout is not None else _TRANSFER_TIMEOUT
    with Bar(_("uploading"), total=os.path.getsize(args.file), unit="B", unit_scale=True) as bar:
        evidence = client.upload_evidence(
            args.file,
            content_type=args.content_type,
            file_name=args.file_name,
            request_id=idempotency_key(args),
            sent=bar.advance,
            timeout=timeout,
        )
    if out.json:
        out.document(evidence)
    else:
        out.line(evidence.sha256)
        message = _("stored {name} ({size} bytes, {content_type})")
        sys.stderr.write(
            message.format(name=evidence.name, size=evidence.size_bytes, content_type=evidence.content_type)
            + "\n"
        )
    return 0


def _cmd_download(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    """Streams into ``OUT.part`` and renames it to ``OUT`` once length and SHA-256 check out: a cut or
    altered download leaves no file that looks like the evidence."""
    partial = f"{args.output}.part"
    timeout = args.timeout if args.timeout is not None else _TRANSFER_TIMEOUT
    try:
        with open(partial, "wb") as f, Bar(_("downloading"), unit="B", unit_scale=True) as bar:

            def write(chunk: bytes) -> None:
                f.write(chunk)
                bar.advance(len(chunk))

            receipt = client.download_evidence(args.sha256, write, timeout=timeout)
        os.replace(partial, args.output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    if out.json:
        out.document(
            {
                "name": receipt.name,
                "path": args.output,
                "size_bytes": receipt.size_bytes,
                "sha256": receipt.sha256,
                "content_type": receipt.content_type,
            }
        )
        return 0
    message = _("wrote {size} bytes (SHA-256 {sha256}, checked) to {path}")
    sys.stderr.write(message.format(size=receipt.size_bytes, sha256=receipt.sha256, path=args.output) + "\n")
    return 0


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_evidence(), args),
        ["SHA-256", "SIZE", "TYPE", "FILE", "UPLOADED BY", "UPLOADED AT"],
        lambda e: [
            e.sha256,
            str(e.size_bytes),
            e.content_type,
            e.file_name,
            e.uploader,
            show_time(e.upload_time),
        ],
        "lr",
    )
    return 0


def _cmd_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    evidence = client.get_evidence(args.sha256)
    if out.json:
        out.document(evidence)
    else:
        out.lines(aligned_pairs(evidence_pairs(evidence)))
    return 0


def show_evidence_check(check: evidence_pb2.VerifyEvidenceResponse, out: Output) -> None:
    """The lines of ``dualdraw audit verify --evidence``: a summary, then each file that is wrong."""
    if check.ok:
        out.line(
            _("OK: {count} evidence files exist with their recorded SHA-256").format(
                count=check.evidence_checked
            )
        )
        return
    for problem in check.problems:
        if problem.kind == evidence_pb2.EvidenceProblem.KIND_MISSING:
            out.line(
                _("MISSING: {name}: no file at {location}").format(
                    name=problem.evidence, location=problem.location
                )
            )
        else:
            message = _("ALTERED: {name}: {location} holds {size} bytes with SHA-256 {sha256}")
            out.line(
                message.format(
                    name=problem.evidence,
                    location=problem.location,
                    size=problem.found_size_bytes,
                    sha256=problem.found_sha256,
                )
            )
    message = _("{count} of {checked} evidence files are missing or altered")
    out.line(message.format(count=check.problem_count, checked=check.evidence_checked))


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``evidence``."""
    group = add_group(subparsers, "evidence", "evidence files (photos, PDFs, lab reports), kept by SHA-256")
    p = add_command(group, "upload", _cmd_upload, "upload a file (streamed) and print its SHA-256", common)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--content-type", help="media type, e.g. application/pdf (default: from the file name)")
    p.add_argument("--file-name", help="the original file name to record (default: FILE's last part)")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(
        group, "download", _cmd_download, "write an evidence file, checked against its SHA-256", common
    )
    p.add_argument("sha256", metavar="SHA256")
    p.add_argument("output", metavar="OUT")
    add_command(group, "list", _cmd_list, "list stored evidence files", common, listing=True)
    p = add_command(group, "show", _cmd_show, "show one evidence file's record", common)
    p.add_argument("sha256", metavar="SHA256")
