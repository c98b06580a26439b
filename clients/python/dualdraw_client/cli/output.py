"""The one output of the remote commands: aligned plain-text tables (wide CJK characters count as
two columns), ``key  value`` pairs, times in China Standard Time, and ``--json`` (one document for a
single result, one JSON object a line for lists, proto field names)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message

from dualdraw.v1 import directory_pb2, draws_pb2, tasks_pb2

from ..dates import date_text
from ..i18n import _

_T = TypeVar("_T")

_CST: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide/fullwidth characters 2, combining/format marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _clean(text: str) -> str:
    """One line: control characters (newlines, tabs) become spaces."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """Lines of an aligned plain-text table; ``align`` has one ``l``/``r`` per column (default ``l``).

    Columns are separated by two spaces; lines carry no trailing spaces.
    """
    body = [[_clean(str(cell)) for cell in row] for row in rows]
    table = [[_clean(_(h)) for h in headers], *body]
    count = max(len(row) for row in table)
    widths = [max((display_width(row[i]) for row in table if i < len(row)), default=0) for i in range(count)]
    lines = []
    for row in table:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - display_width(cell))
            cells.append(pad + cell if align[i : i + 1] == "r" else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def aligned_pairs(items: Sequence[tuple[str, str]]) -> list[str]:
    """``key  value`` lines with the values aligned (keys in the reader's language)."""
    keyed = [(_(k), v) for k, v in items]
    width = max((display_width(k) for k, _v in keyed), default=0)
    return [f"{k}{' ' * (width - display_width(k))}  {_clean(v)}".rstrip() for k, v in keyed]


def show_time(ts: timestamp_pb2.Timestamp) -> str:
    if ts.seconds == 0 and ts.nanos == 0:
        return ""
    moment = ts.ToDatetime(tzinfo=datetime.UTC).astimezone(_CST)
    return moment.strftime("%Y-%m-%d %H:%M:%S%z")


def enum_name(name: str, prefix: str) -> str:
    """Enum value name without its type prefix; "" for UNSPECIFIED."""
    short = name.removeprefix(prefix)
    return "" if short == "UNSPECIFIED" else short


def risk_class_letter(value: int) -> str:
    """A proto risk class as its letter ("A".."D"); "" for UNSPECIFIED."""
    return enum_name(directory_pb2.RiskClass.Name(value), "RISK_CLASS_")  # type: ignore[arg-type]  # an enum int


def risk_class_value(letter: str) -> directory_pb2.RiskClass.ValueType:
    """A class letter as the proto enum; "" or an unknown letter is UNSPECIFIED (the server refuses it where a
    class is required)."""
    try:
        return directory_pb2.RiskClass.Value(f"RISK_CLASS_{letter.strip().upper()}")
    except ValueError:
        return directory_pb2.RISK_CLASS_UNSPECIFIED


def other_level_word(value: int) -> str:
    """An other-level handling as its word ("exclude", "join"); "" for UNSPECIFIED."""
    return enum_name(tasks_pb2.OtherLevelHandling.Name(value), "OTHER_LEVEL_HANDLING_").lower()  # type: ignore[arg-type]  # an enum int


def other_level_value(word: str) -> tasks_pb2.OtherLevelHandling.ValueType:
    """A handling word as the proto enum; "" or an unknown word is UNSPECIFIED."""
    try:
        return tasks_pb2.OtherLevelHandling.Value(f"OTHER_LEVEL_HANDLING_{word.strip().upper()}")
    except ValueError:
        return tasks_pb2.OTHER_LEVEL_HANDLING_UNSPECIFIED


def draw_state_name(value: int) -> str:
    """A draw's state as the lower-case word shown to people ("committed", "executed", "abandoned")."""
    return enum_name(draws_pb2.DrawState.Name(value), "DRAW_STATE_").lower()  # type: ignore[arg-type]  # an enum int


def exclusion_category_name(value: int) -> str:
    """An exclusion category as the lower-case word of the rule files ("statutory_method", ...)."""
    name = draws_pb2.ExclusionCategory.Name(value)  # type: ignore[arg-type]  # an enum int
    return enum_name(name, "EXCLUSION_CATEGORY_").lower()


def _plain_values(message: Message, data: dict[str, Any]) -> None:
    """Replaces in ``data`` (``message`` as proto JSON) every Date and Decimal by its text, at any depth."""
    for field, value in message.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry or field.name not in data:
            continue
        items = list(value) if field.is_repeated else [value]
        plain = _PLAIN.get(field.message_type.full_name)
        if plain is not None:
            texts = [plain(item) for item in items]
            data[field.name] = texts if field.is_repeated else texts[0]
            continue
        parts = data[field.name] if field.is_repeated else [data[field.name]]
        for item, part in zip(items, parts, strict=True):
            if isinstance(part, dict):  # well-known types (Timestamp...) are already text
                _plain_values(item, part)


_PLAIN: Final[dict[str, Callable[[Any], str]]] = {
    "google.type.Date": date_text,
    "google.type.Decimal": lambda d: str(d.value),
}


JSON_HELP: Final = "machine output: JSON (lists: one object a line)"


def add_json_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--json`` (``args.json_output``): the one switch to machine output, on every command that prints."""
    parser.add_argument("--json", dest="json_output", action="store_true", help=_(JSON_HELP))


class Output:
    """Writes human tables or JSON to stdout (looked up on every write, so redirection and capsys work)."""

    def __init__(self, json_output: bool) -> None:
        self.json = json_output

    @staticmethod
    def line(text: str = "") -> None:
        sys.stdout.write(text + "\n")

    def lines(self, lines: Iterable[str]) -> None:
        for text in lines:
            self.line(text)

    @staticmethod
    def to_dict(message: Message) -> dict[str, Any]:
        """Proto JSON with proto field names, a ``google.type.Date`` as ``YYYY-MM-DD`` text and a
        ``google.type.Decimal`` as its decimal text (unset: absent)."""
        data = json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        _plain_values(message, data)
        return data

    def document(self, value: Message | dict[str, Any]) -> None:
        data = self.to_dict(value) if isinstance(value, Message) else value
        self.line(json.dumps(data, ensure_ascii=False, indent=2))

    def records(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.line(json.dumps(self.to_dict(message), ensure_ascii=False))

    def outcome(self, document: dict[str, Any], human: str | Iterable[str]) -> None:
        """What a command did: ``document`` with --json, else the human line(s)."""
        if self.json:
            self.document(document)
        else:
            self.lines([human] if isinstance(human, str) else human)

    def table(
        self,
        messages: Iterable[_T],
        headers: Sequence[str],
        row: Callable[[_T], Sequence[str]],
        align: str = "",
    ) -> None:
        """JSON Lines of the messages with --json, else a table with one ``row(message)`` per message."""
        if self.json:
            self.records(m for m in messages if isinstance(m, Message))
            return
        self.lines(format_table(headers, [row(m) for m in messages], align))
