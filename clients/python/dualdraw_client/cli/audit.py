"""The remote ``audit`` command: the audit trail, who did what and when."""

from __future__ import annotations

import argparse

from ..client import DualdrawClient
from .options import add_command, limited
from .output import Output, show_time


def _cmd_audit(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_audit_events(resource=args.resource or ""), args),
        ["SEQ", "TIME", "ACTOR", "ACTION", "RESOURCE", "REQUEST ID"],
        lambda e: [str(e.sequence), show_time(e.occur_time), e.actor, e.action, e.resource, e.request_id],
        "r",
    )
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``audit``."""
    p = add_command(subparsers, "audit", _cmd_audit, "the audit log", common, listing=True)
    p.add_argument("--resource", help='only events on this resource, e.g. "tasks/t-3f2a9c1b7d4e"')
