"""``--json`` on every command that prints: the commands are enumerated from the ``dualdraw`` parser, each
must take ``--json``, and each remote command run with it against a stub client (every call answers a
default message of its declared type) prints JSON and nothing else."""

from __future__ import annotations

import argparse
import collections.abc
import contextlib
import dataclasses
import io
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message

from dualdraw.entrypoints.cli.main import build_parser
from dualdraw_client import DualdrawClient
from dualdraw_client.cli.options import HANDLER
from dualdraw_client.cli.output import Output

NOT_PRINTING = {
    ("serve",): "runs the server; its output is the log",
    ("completion",): "its output is a shell script",
    ("openapi",): "its output is the OpenAPI document, JSON already",
}
"""The only commands without ``--json``, and why."""


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from leaves(sub, (*path, name))


COMMANDS = list(leaves(build_parser()))


def test_every_command_that_prints_takes_json() -> None:
    assert len(COMMANDS) > 60
    missing = [
        " ".join(path)
        for path, parser in COMMANDS
        if path not in NOT_PRINTING and "--json" not in {o for a in parser._actions for o in a.option_strings}
    ]
    assert missing == [], f"commands without --json: {missing}"


def _message(kind: type[Message]) -> Message:
    """A default message with one default item in each repeated message field (so lists print a row)."""
    message = kind()
    for field in message.DESCRIPTOR.fields:
        if (
            field.is_repeated
            and field.message_type is not None
            and not field.message_type.GetOptions().map_entry
        ):
            getattr(message, field.name).add()
    return message


def _answer(kind: Any) -> Any:
    """A value of the declared return type ``kind``: a default message, one in a list or iterator."""
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and issubclass(kind, Message):
        return _message(kind)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _answer(hints[f.name]) for f in dataclasses.fields(kind)})  # type: ignore[operator]  # a dataclass type
    if origin in (list, collections.abc.Iterator, collections.abc.Iterable):
        (item,) = typing.get_args(kind)
        value = [_answer(item)]
        return value if origin is list else iter(value)
    if kind is bytes:
        return b"{}"
    if kind is type(None):
        return None
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return _answer(typing.get_args(kind)[0])
    return kind()


class StubClient:
    """Answers every ``DualdrawClient`` method with a default value of its declared return type."""

    target = "stub:0"

    def __getattr__(self, name: str) -> Any:
        method = getattr(DualdrawClient, name)
        kind = typing.get_type_hints(method)["return"]

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "write_draw_bundle":
                args[1](b"{}")  # the bundle's bytes go to the writer it was given
            return _answer(kind)

        return call


def command_argv(path: tuple[str, ...], parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    """``path`` with a plausible value for every required argument."""
    argv = list(path)
    for group in parser._mutually_exclusive_groups:
        if group.required:
            action = group._group_actions[0]
            argv += [action.option_strings[0], _value(action, tmp)]
    for action in parser._actions:
        if not (action.required or not action.option_strings) or isinstance(action, argparse._HelpAction):
            continue
        if action.nargs == 0:
            continue
        value = _value(action, tmp)
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    if "--output" in {o for a in parser._actions for o in a.option_strings} and "-o" not in argv:
        argv += ["--output", str(tmp / "written.data")]  # to a file, --json prints a summary
    return [*argv, "--json"]


OVERRIDES = {"kind": "general"}
"""Values for arguments whose type accepts no placeholder."""


def _value(action: argparse.Action, tmp: Path) -> str:
    if action.dest in OVERRIDES and not action.choices:
        return OVERRIDES[action.dest]
    if action.choices:
        return str(next(iter(action.choices)))
    name = getattr(action.type, "__name__", "")
    if name in ("positive_int", "int"):
        return "1"
    if name == "iso_date":
        return "2026-03-01"
    if action.type is Path or name in ("Path", "existing_file"):
        target = tmp / f"{action.dest}.csv"
        target.write_text("kind,credit_code\n", encoding="utf-8")
        return str(target)
    return "x"


REMOTE = [(path, parser) for path, parser in COMMANDS if parser.get_default(HANDLER) is not None]


@pytest.mark.parametrize(("path", "parser"), REMOTE, ids=[" ".join(p) for p, _ in REMOTE])
def test_each_remote_command_prints_only_json_with_json(
    path: tuple[str, ...], parser: argparse.ArgumentParser, tmp_path: Path
) -> None:
    (tmp_path / "x").write_text("{}", encoding="utf-8")  # "x" is every placeholder, a file among them
    args = build_parser().parse_args(command_argv(path, parser, tmp_path))
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.chdir(tmp_path), contextlib.redirect_stdout(stdout):
        code = args.__dict__[HANDLER](StubClient(), args, Output(True))
    stdout.flush()
    text = stdout.buffer.getvalue().decode("utf-8")
    assert text.strip(), f"{' '.join(path)} printed nothing (exit {code})"
    try:
        json.loads(text)
    except json.JSONDecodeError:
        for line in text.splitlines():
            json.loads(line)  # JSON Lines: one object a line
