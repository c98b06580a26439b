"""``dualdraw verify BUNDLE``: the offline verifier on the command line (docs/DRAW-ALGORITHM.md §12); given
an expert draw (``dualdraw experts show ID --json``) instead, it verifies that (§8.2).

Imports the verifier, the message catalogue and the progress bar only, so that an auditor's machine needs
neither a database driver nor gRPC. Progress goes to stderr on a terminal: for a ``dualdraw-bundle/1``,
reading, then each verification stage; for a line bundle (read line by line in bounded memory), the bytes
verified so far with the stage's name. The verdict goes to stdout: ``MATCH``/``MISMATCH: …`` lines, or
one JSON document with ``--json``: ``{"bundle", "ok", "problem", "notes", "seconds"}``. Exit 0 on MATCH,
1 on MISMATCH.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from dualdraw.verifier.bundle import STAGES, ObjectCheck, is_line_bundle, verify_bundle, verify_path
from dualdraw.verifier.checks import Report
from dualdraw.verifier.expert_draws import ExpertDrawReport, is_expert_draw, verify_expert_draw_document
from dualdraw_client.i18n import _
from dualdraw_client.progress import Bar

_READ_CHUNK: Final = 1 << 20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dualdraw verify", description=_("verify a draw bundle offline (no server, no database)")
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, metavar="BUNDLE")
    parser.add_argument("--trusted-key", action="append", metavar="HEX", help="pin a checkpoint public key")
    parser.add_argument("--object", metavar="CREDIT_CODE", help="check this object's own ticket")
    parser.add_argument("--salt", help="with --object: the object's salt")
    parser.add_argument("--risk-class", help="with --object: the object's risk class")
    parser.add_argument(
        "--json",
        dest="json_output",
        action="store_true",
        help=_("machine output: JSON (lists: one object a line)"),
    )


def read_with_progress(path: Path, stream: TextIO | None = None) -> bytes:
    """The file's bytes, read in chunks with a byte bar on a terminal."""
    size = path.stat().st_size
    parts = []
    with Bar(_("reading"), size, unit="B", unit_scale=True, stream=stream) as bar, path.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            parts.append(chunk)
            bar.advance(len(chunk))
    return b"".join(parts)


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Verifies ``args.bundle``; prints the verdict; 0 on MATCH, 1 on MISMATCH."""
    started = time.perf_counter()
    own = ObjectCheck(args.object, args.risk_class or "", args.salt or "") if args.object else None
    with args.bundle.open("rb") as head:
        looks_expert = b'"expertDraws/' in head.read(4096)
    if looks_expert and (expert := _expert_draw(args.bundle.read_bytes())):
        return _print(args, verify_expert_draw_document(expert), time.perf_counter() - started)
    if is_line_bundle(args.bundle):
        size = args.bundle.stat().st_size
        with Bar(_("verifying"), size, unit="B", unit_scale=True, stream=stream) as bar:

            def named(name: str) -> None:
                bar.describe(f"{_('verifying')}: {name}")

            report = verify_path(
                args.bundle, trusted_keys=args.trusted_key, own_object=own, stage=named, progress=bar.to
            )
    else:
        raw = read_with_progress(args.bundle, stream)
        with Bar(_("verifying"), len(STAGES), unit="stage", stream=stream) as bar:

            def stage(name: str) -> None:
                bar.describe(f"{_('verifying')}: {name}")
                bar.to(STAGES.index(name))

            report = verify_bundle(raw, trusted_keys=args.trusted_key, own_object=own, stage=stage)
    return _print(args, report, time.perf_counter() - started)


def _expert_draw(raw: bytes) -> dict[str, Any] | None:
    """The document when ``raw`` is an expert draw (``dualdraw experts show ID --json``), else ``None``."""
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    return document if is_expert_draw(document) else None


def _print(args: argparse.Namespace, report: ExpertDrawReport | Report, elapsed: float) -> int:
    if getattr(args, "json_output", False):
        document = {
            "bundle": str(args.bundle),
            "ok": report.ok,
            "problem": report.problem,
            "notes": report.notes,
            "seconds": round(elapsed, 3),
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0 if report.ok else 1
    for note in report.notes:
        print(_("note: {note}").format(note=note))
    if report.ok:
        print(_("MATCH ({seconds:.2f}s)").format(seconds=elapsed))
        return 0
    print(_("MISMATCH: {problem}").format(problem=report.problem))
    return 1


if __name__ == "__main__":
    sys.exit(main())
