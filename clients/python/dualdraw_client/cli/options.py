"""What every remote command shares: the common options (``--server``, ``--actor``, ``--token``,
``--tls-ca``, ``--timeout``, ``--json``), how a command is registered with its handler, argument types."""

from __future__ import annotations

import argparse
import datetime
import itertools
from collections.abc import Callable, Iterator
from typing import Final, TypeVar

from ..client import DEFAULT_TARGET, DualdrawClient, new_request_id
from ..i18n import _
from .output import Output, add_json_option

_T = TypeVar("_T")

HANDLER: Final = "dualdraw_remote_handler"
"""The namespace attribute holding a parsed remote command's handler."""
DEFAULT_TIMEOUT: Final = 30.0

Handler = Callable[[DualdrawClient, argparse.Namespace, Output], int]
"""A remote command: runs against the client, writes to the output, returns the exit code."""


def idempotency_key(args: argparse.Namespace) -> str:
    """The command's idempotency key: ``--request-id`` or a fresh one, kept in ``args`` for error hints."""
    if not args.request_id:
        args.request_id = new_request_id()
    return str(args.request_id)


def limited(items: Iterator[_T], args: argparse.Namespace) -> Iterator[_T]:
    """``items``, cut at ``--limit`` when the command has one and it is given."""
    limit: int | None = getattr(args, "limit", None)
    return items if limit is None else itertools.islice(items, limit)


def zoned_time(text: str) -> datetime.datetime:
    """Argument type: an RFC 3339 time with its zone, e.g. ``2026-12-05T18:00:00+08:00``."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected a time with its zone (2026-12-05T18:00:00+08:00), got {text!r}"
        )
    return moment


def iso_date(text: str) -> str:
    """Argument type: a calendar date written ``YYYY-MM-DD``."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def positive_float(text: str) -> float:
    """Argument type: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Argument type: an integer above zero."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def cooperating_arg(text: str) -> tuple[str, str]:
    """Argument type: ``DEPT=LINE``, a cooperating department and the line its members hold."""
    dept, _, line = text.partition("=")
    if not dept.strip():
        raise argparse.ArgumentTypeError(f"expected DEPT=LINE, e.g. p-health=drugs, got {text!r}")
    return dept.strip(), line.strip()


def non_negative_int(text: str) -> int:
    """Argument type: an integer of zero or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer of 0 or more, got {text!r}")
    return value


def common_options() -> argparse.ArgumentParser:
    """The options every remote command takes (defaults resolved in :func:`.app.run_remote`)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("server and output")
    group.add_argument(
        "--server",
        metavar="HOST:PORT",
        help=_("server address (default: $DUALDRAW_SERVER or {target})").format(target=DEFAULT_TARGET),
    )
    group.add_argument(
        "--actor", help="who is acting, sent to the server (default: $DUALDRAW_ACTOR or login name)"
    )
    group.add_argument("--token", help="bearer token (default: $DUALDRAW_TOKEN)")
    group.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="use TLS, trusting this CA certificate (default: $DUALDRAW_TLS_CA; plaintext when unset)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help=_("deadline of each call (default: {seconds})").format(seconds=f"{DEFAULT_TIMEOUT:g}"),
    )
    add_json_option(group)
    group.add_argument(
        "--lang",
        choices=("en", "zh"),
        default=argparse.SUPPRESS,  # read from argv before parsing (.i18n.language_from), not from here
        help=_("language of messages and help: en or zh (default: from LANG)"),
    )
    return parent


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
    parents: list[argparse.ArgumentParser],
    *,
    listing: bool = False,
) -> argparse.ArgumentParser:
    """Adds a leaf command that runs ``handler``; ``listing`` adds ``--limit``."""
    help_text = _(help_text)
    parser = subparsers.add_parser(name, help=help_text, description=help_text, parents=parents)
    parser.set_defaults(**{HANDLER: handler})
    if listing:
        parser.add_argument("--limit", type=positive_int, metavar="N", help="show at most N rows")
    return parser


def add_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Adds a command group (``items``, ``draws``, …); returns the collection for its actions."""
    help_text = _(help_text)
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_action", required=True, metavar="ACTION")
