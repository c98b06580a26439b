"""The remote commands of the ``dualdraw`` command line: they talk to a running server over gRPC.

The ``dualdraw`` entry point (``dualdraw.entrypoints.cli.main:main``) calls :func:`add_remote_commands` on
its argparse sub-parsers and hands the parsed namespace to :func:`run_remote` when :func:`is_remote` says so;
:func:`main` is a standalone equivalent (the ``dualdraw-client`` command, and the tests).

Every remote command takes ``--server`` (default ``$DUALDRAW_SERVER`` or 127.0.0.1:50051), ``--actor``
(default ``$DUALDRAW_ACTOR`` or the login name), ``--timeout`` seconds and ``--json``. Human output is
aligned plain-text tables (wide CJK characters count as two columns); ``--json`` prints one JSON document
for a single result and one JSON object per line for lists, using the proto field names (int64 values
are strings, as in the proto3 JSON mapping). Times are shown in China Standard Time (UTC+8).

Exit codes: 0 success; 2 INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, a bad input
file or a usage error; 3 UNAVAILABLE or DEADLINE_EXCEEDED; 1 anything else.

One module per resource (``directory``, ``catalogue``, ``draws``, ``verification``, ``audit``, ``rules``,
``results``) adds its commands; they share ``options`` (common options, registration) and ``output``
(tables and JSON); ``app`` assembles them and runs a parsed command.
"""

from __future__ import annotations

from .app import (
    REMOTE_COMMANDS,
    add_remote_commands,
    alias_argv,
    build_parser,
    exit_code,
    is_remote,
    main,
    run_remote,
)
from .output import display_width, format_table

__all__ = [
    "REMOTE_COMMANDS",
    "add_remote_commands",
    "alias_argv",
    "build_parser",
    "display_width",
    "exit_code",
    "format_table",
    "is_remote",
    "main",
    "run_remote",
]
