"""``dualdraw publish site OUT_DIR``: render the public site from a server's public API."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from dualdraw_client import DualdrawClient
from dualdraw_client.cli.output import Output, add_json_option
from dualdraw_client.client import DEFAULT_TARGET
from dualdraw_client.errors import DualdrawError
from dualdraw_client.i18n import _


def add_publish_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = sub.add_parser("publish", help="render what is published (the public site)")
    publish_sub = publish.add_subparsers(dest="publish_command", required=True)
    site = publish_sub.add_parser(
        "site",
        help="render the static public site (item list, annual plans, draws, results) from the public API",
        description="Reads only the public API (PublicService), so the site holds nothing unpublished.",
    )
    site.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    site.add_argument(
        "--server",
        metavar="HOST:PORT",
        help=_("server (default: $DUALDRAW_SERVER or {target})").format(target=DEFAULT_TARGET),
    )
    site.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")
    add_json_option(site)


def run_publish(args: argparse.Namespace) -> int:
    from dualdraw.entrypoints.site.render import render_site

    target = args.server or os.environ.get("DUALDRAW_SERVER") or DEFAULT_TARGET
    try:
        with DualdrawClient(target, timeout=args.timeout) as client:
            summary = render_site(client, args.out_dir)
    except DualdrawError as exc:
        print(f"error: {exc.code.name}: {exc}")
        return 3 if exc.code.name in ("UNAVAILABLE", "DEADLINE_EXCEEDED") else 1
    except ValueError as exc:  # a server-supplied id that is no plain file name: nothing is written for it
        print(f"error: {exc}")
        return 1
    Output(bool(args.json_output)).outcome(
        {"path": str(args.out_dir), **dataclasses.asdict(summary)},
        _(
            "site written to {path}: {items} items, {draws} draws, {results} results, {objects} object pages,"
            " {plans} plan versions"
        ).format(
            path=args.out_dir,
            items=summary.items,
            draws=summary.draws,
            results=summary.results,
            objects=summary.objects,
            plans=summary.plan_versions,
        ),
    )
    return 0
