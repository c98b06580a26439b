"""The remote ``credit`` commands: where the push of results and follow-up outcomes to the credit system
stands (``credit status``; docs/CREDIT-PUSH.md)."""

from __future__ import annotations

import argparse
from typing import Any

from dualdraw.v1 import deliveries_pb2

from ..client import DualdrawClient
from ..i18n import _
from .options import add_command, add_group, limited
from .output import Output, aligned_pairs, enum_name, show_time

STATE_CHOICES = ("pending", "failed", "delivered", "undelivered")
"""``--state``: one state, or ``undelivered`` (the default: failed, then pending)."""


def _state(delivery: deliveries_pb2.Delivery) -> str:
    name = enum_name(deliveries_pb2.DeliveryState.Name(delivery.state), "DELIVERY_STATE_").lower()
    return _(name) if name else ""


def _cmd_status(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    (summary,) = client.delivery_summary("credit").destinations or [deliveries_pb2.DestinationSummary()]
    states = ["failed", "pending"] if args.state == "undelivered" else [args.state]
    deliveries = (d for state in states for d in client.iter_deliveries("credit", state=state))
    shown = list(limited(deliveries, args))  # pages are fetched only as far as --limit reaches
    if out.json:
        document: dict[str, Any] = {
            "destination": "credit",
            "pending": summary.pending,
            "delivered": summary.delivered,
            "failed": summary.failed,
            "deliveries": [out.to_dict(d) for d in shown],
        }
        out.document(document)
        return 0
    out.lines(
        aligned_pairs(
            [
                ("pending", str(summary.pending)),
                ("delivered", str(summary.delivered)),
                ("failed", str(summary.failed)),
            ]
        )
    )
    if shown:
        out.line()
        out.table(
            shown,
            [
                "SEQ",
                "STATE",
                "ACTION",
                "RESOURCE",
                "ATTEMPTS",
                "NEXT ATTEMPT",
                "DELIVERED",
                "RECEIPT",
                "LAST ERROR",
            ],
            lambda d: [
                str(d.audit_sequence),
                _state(d),
                d.action,
                d.resource,
                str(d.attempts),
                show_time(d.next_attempt_time),
                show_time(d.deliver_time),
                d.receipt,
                d.last_error,
            ],
            "r",
        )
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``credit status``."""
    credit = add_group(
        subparsers, "credit", "the push of results and follow-up outcomes to the credit system"
    )
    p = add_command(
        credit,
        "status",
        _cmd_status,
        "records pending, delivered and failed, and the records not delivered yet",
        common,
        listing=True,
    )
    p.add_argument(
        "--state",
        choices=STATE_CHOICES,
        default="undelivered",
        help="which records to list (default: undelivered, i.e. failed then pending)",
    )
