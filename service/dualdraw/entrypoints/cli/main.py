"""The ``dualdraw`` command: local commands (serve, db, demo) plus the remote ones of ``dualdraw_client``."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dualdraw.settings import Settings
from dualdraw_client.i18n import _

if TYPE_CHECKING:
    from dualdraw_client.cli.output import Output

LOCAL_COMMANDS = {
    "serve",
    "db",
    "demo",
    "publish",
    "rules",
    "verify",
    "keygen",
    "token",
    "completion",
    "openapi",
    "events",
}


def _add_local_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from dualdraw_client.cli.output import add_json_option

    serve = sub.add_parser("serve", help="run the gRPC server")
    serve.add_argument("--address", help="host:port (default $DUALDRAW_ADDRESS or 127.0.0.1:50051)")
    serve.add_argument(
        "--http-address",
        help="also serve HTTP/JSON (Connect protocol, /openapi.json) on host:port"
        " (default $DUALDRAW_HTTP_ADDRESS; off when unset)",
    )
    serve.add_argument("--database-url", help="default $DUALDRAW_DATABASE_URL or sqlite:///dualdraw.db")
    serve.add_argument(
        "--rules", type=Path, help="rule files folder (default $DUALDRAW_RULES_PATH or ./rules)"
    )
    serve.add_argument("--migrate", action="store_true", help="apply database migrations first")
    serve.add_argument(
        "--demo-if-empty", action="store_true", help="load the demo directory into an empty database"
    )

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name, text in (("upgrade", "apply all migrations"), ("current", "print the applied revision")):
        p = db_sub.add_parser(name, help=text)
        p.add_argument("--database-url")
        add_json_option(p)
    backup = db_sub.add_parser("backup", help="copy the SQLite database to FILE (online: the server may run)")
    backup.add_argument("file", type=Path)
    backup.add_argument("--database-url")
    add_json_option(backup)
    restore = db_sub.add_parser(
        "restore", help="replace the SQLite database with FILE (stop the server first)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument("--database-url")
    add_json_option(restore)

    token = sub.add_parser("token", help="bearer tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    mint = token_sub.add_parser(
        "mint", help="mint a token with $DUALDRAW_TOKEN_SECRET_FILE or $DUALDRAW_TOKEN_PRIVATE_KEY"
    )
    mint.add_argument("--subject", required=True, help="who (an inspector's badge number for inspectors)")
    mint.add_argument(
        "--role", required=True, choices=["policy_editor", "draw_operator", "inspector", "auditor", "public"]
    )
    mint.add_argument("--department", default="", help="root of the holder's jurisdiction")
    mint.add_argument("--hours", type=float, default=8.0, help="validity (default 8)")
    add_json_option(mint)

    from dualdraw.entrypoints.cli import verify as offline
    from dualdraw_client.cli.completion import SHELLS

    verify_help = _("verify a draw bundle offline (no server, no database)")
    verify = sub.add_parser("verify", help=verify_help, description=verify_help)
    offline.add_arguments(verify)
    completion = sub.add_parser("completion", help=_("print a shell completion script"))
    completion.add_argument("shell", choices=SHELLS)
    keygen = sub.add_parser("keygen", help="write a new Ed25519 key for signing audit checkpoints")
    keygen.add_argument("path", type=Path, help="where to write the PEM private key (must not exist)")
    add_json_option(keygen)

    openapi = sub.add_parser("openapi", help="write the OpenAPI document of the HTTP/JSON API")
    openapi.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")

    demo = sub.add_parser("demo", help="load the bundled demo directory")
    demo.add_argument("--database-url")
    demo.add_argument("--force", action="store_true", help="load even when the database holds objects")
    add_json_option(demo)


def build_parser() -> argparse.ArgumentParser:
    from dualdraw.entrypoints.cli.events import add_events_command
    from dualdraw.entrypoints.cli.rules import add_rules_command
    from dualdraw.entrypoints.site.cli import add_publish_command
    from dualdraw_client.cli import add_remote_commands
    from dualdraw_client.cli.app import add_language_option, localise

    parser = argparse.ArgumentParser(
        prog="dualdraw",
        description='dualdraw: draws for "double random, one public" inspections, and the tools around them',
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_language_option(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_local_commands(sub)
    add_publish_command(sub)  # dualdraw publish site OUT_DIR: the public results site
    add_rules_command(sub)  # local rule-file commands
    add_events_command(sub)  # dualdraw events tail: the domain events on the broker
    add_remote_commands(sub)
    return localise(parser)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "database_url", None):
        settings = replace(settings, database_url=args.database_url)
    if getattr(args, "address", None):
        settings = replace(settings, address=args.address)
    if getattr(args, "http_address", None):
        settings = replace(settings, http_address=args.http_address)
    if getattr(args, "rules", None):
        settings = replace(settings, rules_path=args.rules)
    return settings


def _run_local(args: argparse.Namespace) -> int:
    if args.command == "verify":
        from dualdraw.entrypoints.cli import verify as offline

        return offline.run(args)
    if args.command == "events":
        from dualdraw.entrypoints.cli.events import run_events

        return run_events(args)
    if args.command == "completion":
        from dualdraw_client.cli.completion import script

        sys.stdout.write(script(build_parser(), args.shell))
        return 0
    if args.command == "openapi":
        from dualdraw.entrypoints.grpc.server import SERVICE_NAMES
        from dualdraw.entrypoints.http.openapi import document_json

        text = document_json(SERVICE_NAMES)
        if args.output is None:
            sys.stdout.buffer.write(text)
        else:
            args.output.write_bytes(text)
            print(f"wrote {args.output}")
        return 0
    if args.command == "keygen":
        from dualdraw.domain.audit.checkpoints import write_private_key

        public = write_private_key(args.path)
        lines = [
            _("wrote {path}; public key {key}").format(path=args.path, key=public),
            _("set DUALDRAW_AUDIT_KEY_FILE={path} for `serve`").format(path=args.path),
        ]
        _output(args).outcome({"path": str(args.path), "public_key": public}, lines)
        return 0
    from dualdraw.adapters.store.database import current_revision, migrate

    if args.command == "publish":
        from dualdraw.entrypoints.site.cli import run_publish

        return run_publish(args)
    settings = _settings(args)
    if args.command == "token":
        return _mint_token(settings, args)
    if args.command == "db":
        if args.db_command in ("backup", "restore"):
            from dualdraw.adapters.store.backup import backup_sqlite, restore_sqlite

            document = {"database_url": settings.database_url, "file": str(args.file)}
            if args.db_command == "backup":
                backup_sqlite(settings.database_url, args.file)
                human = _("backed up {url} to {file}").format(url=settings.database_url, file=args.file)
                _output(args).outcome(document, human)
            else:
                restore_sqlite(args.file, settings.database_url)
                human = _("restored {url} from {file}").format(url=settings.database_url, file=args.file)
                _output(args).outcome(document, human)
            return 0
        if args.db_command == "upgrade":
            migrate(settings.database_url)
        revision = current_revision(settings.database_url)
        if args.db_command == "upgrade":
            human = _("migrated {url} to {revision}").format(url=settings.database_url, revision=revision)
        else:
            human = revision or _("(empty: no migration applied)")
        _output(args).outcome({"database_url": settings.database_url, "revision": revision}, human)
        return 0
    try:
        if args.command == "demo":
            return _load_demo(settings, args, only_if_empty=not args.force)
        if args.migrate:
            migrate(settings.database_url)
        _require_schema(settings.database_url)
        if args.demo_if_empty:
            _load_demo(settings, args, only_if_empty=True)
        from dualdraw.entrypoints.grpc.server import serve

        serve(settings)
    except (ValueError, OSError) as exc:  # configuration refused or address held: say why, no traceback
        print(f"dualdraw {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _require_schema(url: str) -> None:
    """Raises ``ValueError`` unless the database is at the revision this build's migrations end at: a
    server on another schema would fail at the first read or write of a changed table (a draw refused at
    its store after its whole load), not at its start."""
    from dualdraw.adapters.store.database import current_revision, head_revision

    revision, head = current_revision(url), head_revision()
    if revision != head:
        raise ValueError(
            f"the database is at schema revision {revision or '(none: never migrated)'}, this dualdraw's is "
            f"{head}: run `dualdraw db upgrade` first, or serve with --migrate"
        )


def _mint_token(settings: Settings, args: argparse.Namespace) -> int:
    import datetime as dt

    from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, TokenKeys, mint_token

    keys = TokenKeys.from_files(
        public_key=None, private_key=settings.token_private_key, secret=settings.token_secret_file
    )
    principal = Principal(args.subject, Role(args.role), args.department)
    token = mint_token(keys, principal, ttl=dt.timedelta(hours=args.hours))
    _output(args).outcome(
        {"token": token, "subject": args.subject, "role": args.role, "department": args.department}, token
    )
    return 0


def _output(args: argparse.Namespace) -> Output:
    """The command's output: JSON with ``--json``, else lines for people (one module decides the format)."""
    from dualdraw_client.cli.output import Output

    return Output(bool(getattr(args, "json_output", False)))


def _load_demo(settings: Settings, args: argparse.Namespace, *, only_if_empty: bool) -> int:
    from dualdraw.adapters.store.unit_of_work import Store
    from dualdraw.entrypoints.grpc.server import audit_signing
    from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan

    signer, _trusted = audit_signing(settings)  # the server's own key: one key signs the whole log
    store = Store.from_url(settings.database_url, signer=signer)
    try:
        counts = load_demo(store.unit_of_work, only_if_empty=only_if_empty)
        plan = load_demo_plan(store.unit_of_work) if counts is not None else None
    finally:
        store.dispose()
    if counts is None or plan is None:
        _output(args).outcome(
            {"loaded": False, "counts": {}, "plan_id": None},
            _("demo: the database holds objects already; nothing loaded"),
        )
        return 0
    entries = ", ".join(f"{e.id} {e.item_code}" for e in plan.entries)
    _output(args).outcome(
        {"loaded": True, "counts": counts, "plan_id": plan.plan_id, "entries": [e.id for e in plan.entries]},
        [
            _("demo loaded: {counts}").format(counts=", ".join(f"{k} {v}" for k, v in counts.items())),
            _("demo plan {plan} ({department} {year}, published): {entries}").format(
                plan=plan.plan_id, department=plan.department_id, year=plan.year, entries=entries
            ),
        ],
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from dualdraw_client.i18n import language_from, set_language

    set_language(language_from(argv))
    if argv[:1] == ["verify"]:
        # An auditor's machine: the offline verifier alone, without the rest of the command's imports
        # (rules, site, gRPC client: ~0.2 s of start-up).
        from dualdraw.entrypoints.cli import verify as offline

        return offline.main(argv[1:])
    from dualdraw_client.cli import alias_argv, run_remote

    args = build_parser().parse_args(alias_argv(argv))
    level = logging.DEBUG if args.verbose else logging.INFO
    if args.command == "serve":
        from dualdraw.runtime.telemetry import configure_logging

        configure_logging(Settings().log_format, level)  # JSON lines with request ids by default
    else:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
    if args.command == "rules":
        from dualdraw.entrypoints.cli.rules import run_rules_command

        return run_rules_command(args)
    if args.command in LOCAL_COMMANDS:
        return _run_local(args)
    return run_remote(args)


if __name__ == "__main__":
    sys.exit(main())
