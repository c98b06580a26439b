"""``dualdraw verify BUNDLE``: the offline verifier's command line (docs/DRAW-ALGORITHM.md §12).

Imports only the verifier, so that an auditor's machine needs neither a database driver nor gRPC.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dualdraw.verifier.bundle import ObjectCheck, verify_bundle


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dualdraw verify", description="re-checks a draw bundle with no server and no database"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, metavar="BUNDLE")
    parser.add_argument("--trusted-key", action="append", metavar="HEX", help="pin a checkpoint public key")
    parser.add_argument("--object", metavar="CREDIT_CODE", help="check this object's own ticket")
    parser.add_argument("--salt", help="with --object: the object's salt")
    parser.add_argument("--risk-class", help="with --object: the object's risk class")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    raw = args.bundle.read_bytes()
    own = ObjectCheck(args.object, args.risk_class or "", args.salt or "") if args.object else None
    report = verify_bundle(raw, trusted_keys=args.trusted_key, own_object=own)
    for note in report.notes:
        print(f"note: {note}")
    elapsed = time.perf_counter() - started
    if report.ok:
        print(f"MATCH ({elapsed:.2f}s)")
        return 0
    print(f"MISMATCH: {report.problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
