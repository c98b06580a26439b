"""Assembles the remote commands and runs a parsed one: the client, exit codes, error reports."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import Any, Final, TextIO

import grpc

from ..client import DEFAULT_TARGET, DualdrawClient
from ..errors import DualdrawError
from ..i18n import _, language_from, set_language
from ..records import RecordError
from . import (
    audit,
    catalogue,
    credit,
    directory,
    draws,
    evidence,
    experts,
    filings,
    follow_ups,
    inspections,
    plans,
    report,
    results,
    rules,
    verification,
)
from .options import DEFAULT_TIMEOUT, HANDLER, Handler, common_options
from .output import Output

REMOTE_COMMANDS: Final = frozenset(
    {
        "import",
        "items",
        "tasks",
        "plans",
        "filings",
        "draw",
        "draws",
        "assignments",
        "exclusions",
        "objects",
        "inspectors",
        "departments",
        "transfer",
        "audit",
        "results",
        "itemlist",
        "export",
        "credit-export",
        "credit",  # the credit push's delivery status
        "checklists",
        "records",
        "rule-set",  # the rule set on the server
        "log",
        "report",
        "evidence",
        "follow-ups",
        "objections",
        "experts",
    }
)
"""The top-level command names that :func:`add_remote_commands` adds."""


_USAGE_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
    }
)


_TRANSIENT_CODES: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def exit_code(code: grpc.StatusCode) -> int:
    """The process exit code for a failed call: 2 for the caller's mistakes, 3 for transient, 1 otherwise."""
    if code in _USAGE_CODES:
        return 2
    if code in _TRANSIENT_CODES:
        return 3
    return 1


def alias_argv(argv: Sequence[str]) -> list[str]:
    """``draw export …`` (and the other lifecycle verbs) means ``draws export …``; ``audit verify`` means
    ``log verify`` (``draw TASK_ID`` and ``audit`` keep their meaning). Leading options (``-v``,
    ``--lang zh``) are skipped."""
    args = list(argv)
    at = 0
    while at < len(args) and args[at].startswith("-"):
        at += 2 if args[at] == "--lang" else 1
    command, verb = args[at : at + 1], args[at + 1 : at + 2]
    if command == ["draw"] and verb and verb[0] in verification.DRAW_VERBS:
        args[at] = "draws"
    elif command == ["audit"] and verb and verb[0] in ("verify", "checkpoint", "proof"):
        args[at] = "log"
    return args


def add_remote_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the remote commands (:data:`REMOTE_COMMANDS`) to an argparse sub-parser collection.

    Each leaf command carries the common options and a handler that :func:`run_remote` dispatches to.
    """
    common = [common_options()]
    directory.add_import_command(subparsers, common)
    catalogue.add_commands(subparsers, common)
    plans.add_commands(subparsers, common)
    filings.add_commands(subparsers, common)
    draws_group = draws.add_commands(subparsers, common)
    verification.add_commands(subparsers, draws_group, common)
    draws.add_result_commands(subparsers, common)
    directory.add_commands(subparsers, common)
    audit.add_commands(subparsers, common)
    rules.add_commands(subparsers, common)
    results.add_commands(subparsers, common)
    follow_ups.add_commands(subparsers, common)
    inspections.add_commands(subparsers, common)
    report.add_commands(subparsers, common)
    evidence.add_commands(subparsers, common)
    credit.add_commands(subparsers, common)
    experts.add_commands(subparsers, common)


def is_remote(args: argparse.Namespace) -> bool:
    """True when ``args`` came from a command added by :func:`add_remote_commands`."""
    return callable(getattr(args, HANDLER, None))


def _default_actor() -> str | None:
    actor = os.environ.get("DUALDRAW_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (e.g. a container without a passwd entry)
        return None


def _report(error: DualdrawError, stream: TextIO) -> None:
    """``error: CODE: message [REASON]`` and then one indented line per field violation."""
    stream.write(f"{_('error')}: {error.code.name}: {error}\n")


def run_remote(args: argparse.Namespace) -> int:
    """Runs a parsed remote command; returns the exit code. Errors are reported on stderr, not raised."""
    handler: Handler = getattr(args, HANDLER)
    out = Output(bool(getattr(args, "json_output", False)))
    target = args.server or os.environ.get("DUALDRAW_SERVER") or DEFAULT_TARGET
    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT
    try:
        token = getattr(args, "token", None) or os.environ.get("DUALDRAW_TOKEN") or None
        tls_ca = getattr(args, "tls_ca", None) or os.environ.get("DUALDRAW_TLS_CA") or None
        credentials = None
        if tls_ca:
            with open(tls_ca, "rb") as pem:
                credentials = grpc.ssl_channel_credentials(root_certificates=pem.read())
        client = DualdrawClient(
            target,
            actor=args.actor or _default_actor(),
            timeout=timeout,
            token=token,
            credentials=credentials,
        )
    except (ValueError, OSError) as exc:  # an actor that cannot travel as metadata; an unreadable CA file
        sys.stderr.write(f"error: {exc}\n")
        return 2
    try:
        with client:
            return handler(client, args, out)
    except DualdrawError as exc:
        _report(exc, sys.stderr)
        request_id = getattr(args, "request_id", None)
        if request_id and exc.code in _TRANSIENT_CODES:
            message = _(
                "note: the request may or may not have been applied; to retry safely, repeat the command"
                " with --request-id {request_id}"
            )
            sys.stderr.write(message.format(request_id=request_id) + "\n")
        return exit_code(exc.code)
    except RecordError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:  # an input file that cannot be read
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(_("interrupted") + "\n")
        return 130


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (e.g. under a test harness)
        pass


def build_parser(prog: str = "dualdraw") -> argparse.ArgumentParser:
    """A parser with only the remote commands (the real entry point adds ``serve`` and ``db`` too)."""
    parser = argparse.ArgumentParser(prog=prog, description="dualdraw: talk to a dualdraw server")
    add_language_option(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_remote_commands(subparsers)
    return localise(parser)


class _LocalisedHelp(argparse.HelpFormatter):
    """argparse's help layout with its ``usage:`` heading in the reader's language."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


def localise(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Puts every help text, description and group title of ``parser`` and its sub-commands in the reader's
    language (commands register English; the catalogue is :mod:`dualdraw_client.i18n`)."""
    parser.formatter_class = _LocalisedHelp
    if parser.description:
        parser.description = _(parser.description)
    for group in parser._action_groups:
        if group.title == "positional arguments":
            group.title = _("positional arguments")
        elif group.title == "options":
            group.title = _("options")
        elif group.title:
            group.title = _(group.title)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = _("show this help message and exit")
        elif action.help and action.help != argparse.SUPPRESS:
            action.help = _(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _(choice.help) if choice.help else choice.help
            for sub in {id(p): p for p in action.choices.values()}.values():
                localise(sub)
    return parser


def add_language_option(parser: argparse.ArgumentParser) -> None:
    """``--lang en|zh`` on the top-level parser (read before parsing: help summaries depend on it)."""
    parser.add_argument(
        "--lang",
        choices=("en", "zh"),
        default=argparse.SUPPRESS,
        help=_("language of messages and help: en or zh (default: from LANG)"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: parses ``argv`` (default ``sys.argv[1:]``) and runs the remote command."""
    argv = sys.argv[1:] if argv is None else argv
    set_language(language_from(argv))
    args = build_parser().parse_args(alias_argv(argv))
    return run_remote(args)
