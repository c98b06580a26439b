"""Remote commands of verifiable draws: ``draws commit/reveal/execute/abandon/substitute/
execute-substitution/export/stats`` and the tamper-evident audit log, ``log verify/checkpoint`` (also spelt
``draw …`` and ``audit verify``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Final

from google.protobuf.descriptor import EnumDescriptor

from dualdraw.v1 import draws_pb2, verification_pb2

from ..client import DualdrawClient
from ..client.verification import enum_value
from ..i18n import _
from ..progress import Bar, spinner
from .draws import draw_pairs, show_draw
from .evidence import show_evidence_check
from .options import add_command, add_group, idempotency_key, iso_date, positive_int, zoned_time
from .output import Output, aligned_pairs, enum_name

_EXPORT_TIMEOUT: Final = 600.0  # dualdraw draw export: one deadline for the whole streamed bundle

DRAW_VERBS: Final = frozenset(
    {"commit", "reveal", "execute", "abandon", "substitute", "execute-substitution", "export", "stats"}
)


SUBSTITUTION_REASON: Final = "SUBSTITUTION_REASON_"


def _codes(enum: EnumDescriptor) -> list[str]:
    """The reason codes of a reason enum: its value names without the type prefix, UNSPECIFIED left out."""
    prefix = enum.values[0].name.removesuffix("UNSPECIFIED")
    return [v.name.removeprefix(prefix) for v in enum.values if v.number]


def _cmd_draws_commit(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    source = verification_pb2.EntropySource(
        kind=enum_value(verification_pb2.EntropySourceKind.DESCRIPTOR, "ENTROPY_SOURCE_KIND_", args.source),
        beacon=args.beacon or "",
        beacon_round=args.round or 0,
    )
    for party in args.party or []:
        name, _, commitment = party.partition("=")
        source.parties.append(verification_pb2.PartyCommitment(name=name, commitment=commitment))
    if args.deadline is not None:
        source.reveal_deadline.FromDatetime(args.deadline)
    draw = client.commit_draw(args.task_id, source, as_of=args.as_of, request_id=idempotency_key(args))
    return show_draw(client, draw, out)


def _cmd_draws_reveal(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_draw(client, client.reveal_entropy(args.draw_id, args.party, args.secret), out)


def _cmd_draws_execute(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    with spinner(_("drawing")):
        draw = client.execute_draw(args.draw_id, args.beacon_value or "")
    return show_draw(client, draw, out)


def _cmd_draws_abandon(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    draw = client.abandon_draw(args.draw_id, args.reason, args.note)
    if out.json:
        out.document(draw)
    else:
        out.lines(aligned_pairs(draw_pairs(draw)))
    return 0


def _cmd_draws_substitute(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    import hashlib

    evidence = args.evidence_hash or hashlib.sha256(open(args.evidence_file, "rb").read()).hexdigest()  # noqa: SIM115
    sub = client.request_substitution(
        args.draw_id,
        args.position,
        args.badge,
        args.reason,
        evidence,
        beacon=args.beacon or "",
        beacon_round=args.round or 0,
    )
    if json.loads(sub.entropy_source or "{}").get("kind") == "local-secret":  # development: at once
        sub = client.execute_substitution(sub.id)
    return _show_substitution(sub, out)


def _cmd_draws_execute_substitution(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_substitution(client.execute_substitution(args.substitution_id, args.beacon_value), out)


def _show_substitution(sub: verification_pb2.Substitution, out: Output) -> int:
    if out.json:
        out.document(sub)
        return 0
    pairs = [
        ("substitution", sub.id),
        ("position", str(sub.position)),
        ("removed", sub.removed_badge),
        ("replacement", sub.replacement_badge or _("(awaiting the beacon)")),
        ("reason", enum_name(verification_pb2.SubstitutionReason.Name(sub.reason), SUBSTITUTION_REASON)),
        ("entropy", sub.entropy_source),
        (
            "state",
            enum_name(verification_pb2.SubstitutionState.Name(sub.state), "SUBSTITUTION_STATE_").lower(),
        ),
    ]
    out.lines(aligned_pairs(pairs))
    if sub.state == verification_pb2.SUBSTITUTION_STATE_REQUESTED:
        out.line(
            _(
                "once the beacon round is produced: dualdraw draw execute-substitution {id} "
                "--beacon-value SIGNATURE"
            ).format(id=sub.id)
        )
    return 0


def _cmd_draws_export(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    """Streams the bundle into ``FILE.part`` and renames it to ``FILE`` once its length and SHA-256 check
    out: a cut or altered stream leaves no file that looks like a bundle. The deadline covers the whole
    stream: without ``--timeout`` it is ``_EXPORT_TIMEOUT`` (a 1M-object bundle is ~135 MB)."""
    partial = f"{args.output}.part"
    timeout = args.timeout if args.timeout is not None else _EXPORT_TIMEOUT
    try:
        with open(partial, "wb") as f, Bar(_("exporting"), unit="B", unit_scale=True) as bar:

            def write(chunk: bytes) -> None:
                f.write(chunk)
                bar.advance(len(chunk))

            receipt = client.write_draw_bundle(
                args.draw_id, write, public=args.public, lines=args.lines, timeout=timeout
            )
        os.replace(partial, args.output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    if out.json:
        out.document(
            {"draw_id": args.draw_id, "path": args.output, "size": receipt.size, "sha256": receipt.sha256}
        )
        return 0
    message = _("wrote {size} bytes (SHA-256 {sha256}) to {path}; check: dualdraw verify {path}")
    sys.stderr.write(message.format(size=receipt.size, sha256=receipt.sha256, path=args.output) + "\n")
    return 0


def _cmd_draws_stats(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    stats = client.draw_statistics()
    if out.json:
        out.document(stats)
        return 0
    out.line(_("abandoned draws: {count}").format(count=stats.abandoned))
    for reason, n in sorted(stats.abandoned_by_reason.items()):
        out.line(f"  {reason}: {n}")
    out.line(_("substitutions per department:"))
    for key, n in sorted(stats.substitutions_by_department.items()):
        out.line(f"  {key}: {n}")
    out.line(_("substitutions per inspector (removed):"))
    for key, n in sorted(stats.substitutions_by_inspector.items()):
        out.line(f"  {key}: {n}")
    return 0


def _cmd_log_verify(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    verdict = client.verify_log(args.known_size or 0, args.known_root or "")
    evidence = None
    if args.evidence:
        evidence = client.verify_evidence(
            timeout=args.timeout if args.timeout is not None else _EXPORT_TIMEOUT
        )
    ok = verdict.ok and (evidence is None or evidence.ok)
    if out.json:
        if evidence is None:
            out.document(verdict)
        else:
            out.document({"log": out.to_dict(verdict), "evidence": out.to_dict(evidence)})
        return 0 if ok else 1
    _show_log_verdict(verdict, out)
    if evidence is not None:
        show_evidence_check(evidence, out)
    return 0 if ok else 1


def _show_log_verdict(verdict: verification_pb2.VerifyLogResponse, out: Output) -> None:
    if verdict.ok:
        keys = list(verdict.key_ids)
        summary = (
            "OK: {size} entries, root {root}, {checkpoints} signed checkpoints (keys {keys})"
            if len(keys) > 1
            else "OK: {size} entries, root {root}, {checkpoints} signed checkpoints (key {keys})"
        )
        out.line(
            _(summary).format(
                size=verdict.tree_size,
                root=verdict.root_hash,
                checkpoints=verdict.checkpoints_checked,
                keys=", ".join(keys),
            )
            + (_(" -- DEVELOPMENT KEY, not pinned") if verdict.development_key else "")
        )
        out.line(_("OK: {draws} draws re-derived from their stored rows").format(draws=verdict.draws_checked))
        if len(keys) > 1:
            message = _(
                "KEY CHANGED: checkpoints were signed by {count} keys, in this order: {keys}; check that each"
                " is one of yours (a rotation), not a server restarted with another key"
            )
            out.line(message.format(count=len(keys), keys=" -> ".join(keys)))
    else:
        if verdict.problem:
            message = _("TAMPERED: first bad entry {sequence}: {problem}")
            out.line(message.format(sequence=verdict.first_bad_sequence, problem=verdict.problem))
        if verdict.first_bad_draw_id:
            message = _(
                "TAMPERED: draw {draw} no longer matches its commitments ({draws} draws checked): {problem}"
            )
            out.line(
                message.format(
                    draw=verdict.first_bad_draw_id, draws=verdict.draws_checked, problem=verdict.draw_problem
                )
            )


def _cmd_log_checkpoint(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    cp = client.get_checkpoint(args.size or 0)
    if out.json:
        out.document(cp)
    elif args.note:
        if not cp.note:
            message = _("checkpoint {size} was signed before the note form: it has no note")
            out.line(message.format(size=cp.tree_size))
            return 1
        sys.stdout.write(cp.note)  # exactly the signed note, for tools that read C2SP checkpoints
    else:
        out.lines(
            aligned_pairs(
                [
                    ("tree size", str(cp.tree_size)),
                    ("root", cp.root_hash),
                    ("key id", cp.key_id),
                    ("public key", cp.public_key),
                    ("signature", cp.signature),
                    ("note verifier key", cp.note_verifier_key),
                ]
            )
        )
        if cp.note:
            out.line()
            out.lines(cp.note.removesuffix("\n").split("\n"))
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    draws: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    """Adds the lifecycle verbs to the ``draws`` group, and ``log``."""
    p = add_command(
        draws, "commit", _cmd_draws_commit, "freeze a draw's manifest before its entropy exists", common
    )
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--source", choices=["local-secret", "beacon", "commit-reveal"], default="local-secret")
    p.add_argument("--beacon", help="beacon name (beacon source, or the commit-reveal fallback)")
    p.add_argument("--round", type=positive_int, help="beacon round fixed in the manifest")
    p.add_argument("--party", action="append", metavar="NAME=COMMITMENT", help="commit-reveal party")
    p.add_argument("--deadline", type=zoned_time, help="commit-reveal reveal deadline (RFC 3339 with zone)")
    p.add_argument("--as-of", type=iso_date, metavar="DATE")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(draws, "reveal", _cmd_draws_reveal, "reveal a party's secret", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("party")
    p.add_argument("secret", help="hex")
    p = add_command(draws, "execute", _cmd_draws_execute, "execute a committed draw", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--beacon-value", help="hex value of the beacon round")
    p = add_command(draws, "abandon", _cmd_draws_abandon, "abandon a live draw with a reason code", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--reason", required=True, choices=_codes(draws_pb2.AbandonReason.DESCRIPTOR))
    p.add_argument("--note", required=True)
    p = add_command(
        draws, "substitute", _cmd_draws_substitute, "replace an inspector (补抽), logged first", common
    )
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--position", type=positive_int, required=True)
    p.add_argument("--badge", required=True, help="the inspector to replace")
    p.add_argument("--reason", required=True, choices=_codes(verification_pb2.SubstitutionReason.DESCRIPTOR))
    evidence = p.add_mutually_exclusive_group(required=True)
    evidence.add_argument("--evidence-hash", help="hex SHA-256 of the evidence")
    evidence.add_argument("--evidence-file", help="the evidence file (its SHA-256 is recorded)")
    p.add_argument(
        "--beacon",
        help="entropy from this pinned beacon (default: the server's; a local secret only in development)",
    )
    p.add_argument("--round", type=positive_int, help="its round (default: the first a minute from now)")
    p = add_command(
        draws,
        "execute-substitution",
        _cmd_draws_execute_substitution,
        "pick a requested substitution's replacement with its beacon round's value",
        common,
    )
    p.add_argument("substitution_id", metavar="SUBSTITUTION_ID")
    p.add_argument("--beacon-value", required=True, help="hex signature of the beacon round")
    p = add_command(
        draws, "export", _cmd_draws_export, "write a draw's verification bundle (streamed)", common
    )
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--public", action="store_true", help="hide unselected objects behind salted commitments")
    p.add_argument(
        "--lines",
        action="store_true",
        help="the line-oriented form dualdraw-bundle-lines/1 (verified in bounded memory at any size)",
    )
    add_command(draws, "stats", _cmd_draws_stats, "abandoned draws and substitution counts", common)

    log = add_group(subparsers, "log", "the tamper-evident audit log (also: audit verify)")
    help_text = "recompute the Merkle log and check its signed checkpoints"
    p = add_command(log, "verify", _cmd_log_verify, help_text, common)
    p.add_argument("--known-size", type=positive_int, help="a checkpoint size held outside")
    p.add_argument("--known-root", help="its root hash")
    p.add_argument(
        "--evidence",
        action="store_true",
        help="also check every stored evidence file against its SHA-256 (names missing or altered ones)",
    )
    p = add_command(log, "checkpoint", _cmd_log_checkpoint, "show a signed checkpoint", common)
    p.add_argument("--size", type=positive_int, help="default: the newest")
    p.add_argument(
        "--note", action="store_true", help="print only the C2SP signed note (c2sp.org/tlog-checkpoint)"
    )
