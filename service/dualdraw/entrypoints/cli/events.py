"""``dualdraw events tail``: the domain events on the NATS JetStream stream, as a consumer sees them.

Reads the stream the server publishes to (``DUALDRAW_EVENTS_URL``, ``DUALDRAW_EVENTS_STREAM``,
``DUALDRAW_EVENTS_SUBJECT_PREFIX``, or the options): new events by default, all of them with ``--all``; one
line per event (time, type, subject, id, data), or the CloudEvent itself as one JSON object a line with
``--json``. Exit 0, or 2 when the broker or the stream is not there.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dualdraw.adapters.event_broker import BrokerUnavailable, StreamMissing, tail
from dualdraw.settings import Settings
from dualdraw_client.i18n import _

DEFAULT_URL = "nats://127.0.0.1:4222"


def add_events_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from dualdraw_client.cli.output import add_json_option

    events = sub.add_parser("events", help=_("domain events for other services (NATS JetStream)"))
    events_sub = events.add_subparsers(dest="events_command", required=True)
    tail_help = _("print the domain events of the stream as they arrive")
    p = events_sub.add_parser("tail", help=tail_help, description=tail_help)
    p.add_argument("--url", help=_("NATS server (default $DUALDRAW_EVENTS_URL or nats://127.0.0.1:4222)"))
    p.add_argument(
        "--stream", help=_("JetStream stream (default $DUALDRAW_EVENTS_STREAM or DUALDRAW_EVENTS)")
    )
    p.add_argument(
        "--subject-prefix",
        help=_("subjects <prefix>.> (default $DUALDRAW_EVENTS_SUBJECT_PREFIX or dualdraw.events)"),
    )
    p.add_argument("--all", action="store_true", help=_("from the stream's first event, not only new ones"))
    p.add_argument("--limit", type=int, default=0, help=_("stop after this many events (default: never)"))
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help=_("stop after this many seconds without an event (default: never)"),
    )
    add_json_option(p)


def _line(event: dict[str, Any]) -> str:
    data = json.dumps(event.get("data", {}), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    fields = (
        event.get("time", ""),
        event.get("type", ""),
        event.get("subject", ""),
        event.get("id", ""),
        data,
    )
    return "  ".join(str(f) for f in fields)


def run_events(args: argparse.Namespace) -> int:
    settings = Settings()
    url = args.url or settings.events_url or DEFAULT_URL
    stream = args.stream or settings.events_stream

    def emit(event: dict[str, Any]) -> None:
        if args.json_output:
            print(json.dumps(event, ensure_ascii=False, sort_keys=True), flush=True)
        else:
            print(_line(event), flush=True)

    try:
        tail(
            url,
            stream=stream,
            subject_prefix=args.subject_prefix or settings.events_subject_prefix,
            from_start=args.all,
            limit=max(args.limit, 0),
            wait_s=max(args.wait, 0.0),
            emit=emit,
        )
    except BrokerUnavailable as exc:
        print(_("dualdraw events: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    except StreamMissing:
        message = _(
            "dualdraw events: no stream {stream} at {url} (has a server with DUALDRAW_EVENTS_URL started?)"
        )
        print(message.format(stream=stream, url=url), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
