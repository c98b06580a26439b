"""Reading plain YAML (data only) with every problem reported as file:line:column.

Rule files and their test-case files are read the same way: PyYAML composes nodes (which keep their line
and column) with the safe loader; tags, anchors and aliases are refused before anything is composed (a file
is data, never code, and aliases can expand exponentially); only plain scalars, mappings and sequences are
read. Problems are collected, not raised at the first one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dualdraw.domain.exclusions.model import SourceLocation

SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (7x faster), else the pure-Python one; both keep node marks."""
MAX_FILE_BYTES = 1024 * 1024
"""A file larger than this is refused unread (rule files are short: a huge one is a mistake or worse)."""
MAX_YAML_NODES = 200_000
"""YAML nodes in one file (bounds the work of composing it)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule or test file; ``str()`` is ``file:line:column: message`` (1-based)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RuleFileError(ValueError):
    """The rule files cannot be loaded; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


YAML_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a number",
    dt.date: "a date",
    dt.datetime: "a date and time",
    type(None): "nothing (null)",
}


def describe(value: object) -> str:
    if isinstance(value, NotScalar):
        return f"an unreadable value ({value.error})" if value.error else "not a plain value"
    kind = YAML_TYPE_NAMES.get(type(value), type(value).__name__)
    return kind if value is None else f"{kind} ({value!r})"


class PlainYamlReader:
    """Reads one file's nodes, recording problems instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, message))

    def location(self, node: Node) -> SourceLocation:
        return SourceLocation(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def compose(self, text: str, *, what: str, empty: str) -> Node | None:
        """The document's root node, or ``None`` after recording why not (too large, not plain YAML,
        a syntax error, or empty: then ``empty`` is the message). ``what`` names the file in messages."""
        size = len(text.encode("utf-8"))
        if size > MAX_FILE_BYTES:
            message = f"the file has {size} bytes; {what} may have at most {MAX_FILE_BYTES}"
            self.problems.append(Problem(self.file, 1, 1, message))
            return None
        if not self.only_plain_yaml(text):
            return None
        try:
            root = yaml.compose(text, Loader=SAFE_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            self.problems.append(Problem(self.file, line, column, f"YAML syntax error: {detail}"))
            return None
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.file, 1, 1, f"YAML syntax error: {exc}"))
            return None
        if root is None:
            self.problems.append(Problem(self.file, 1, 1, empty))
        return root

    def only_plain_yaml(self, text: str) -> bool:
        """False (with a problem) when the YAML uses a tag, an anchor or an alias, or is too large.

        A rule file is plain data: tags (``!!python/object``...) could ask a loader to build objects, and
        anchors with aliases can expand exponentially ("billion laughs"), so neither is accepted at all.
        Scanning the event stream finds them before anything is composed.
        """
        nodes = 0
        try:
            for event in yaml.parse(text, Loader=SAFE_LOADER):
                message = ""
                if isinstance(event, yaml.AliasEvent):
                    message = (
                        f"YAML aliases (*{event.anchor}) are not allowed in rule files; write values out"
                    )
                elif isinstance(event, yaml.NodeEvent):
                    nodes += 1
                    tag = getattr(event, "tag", None)
                    implicit = getattr(event, "implicit", True)
                    explicit = (
                        tag is not None
                        and tag != "!"
                        and not (implicit is True or (isinstance(implicit, tuple) and implicit[0]))
                    )
                    if event.anchor is not None:
                        message = f"YAML anchors (&{event.anchor}) are not allowed in rule files"
                    elif explicit:
                        message = (
                            f"YAML tags ({tag}) are not allowed in rule files: they are data, never code"
                        )
                    elif nodes > MAX_YAML_NODES:
                        message = f"more than {MAX_YAML_NODES} YAML values in one file"
                if message:
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
                    self.problems.append(Problem(self.file, line, column, message))
                    return False
        except yaml.YAMLError:
            return True  # reported with its position by ``read``'s compose
        return True

    def mapping(
        self, node: Node, what: str, *, required: set[str], optional: set[str]
    ) -> dict[str, Node] | None:
        """The mapping's values by key, after reporting unknown, duplicate and missing keys."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping (key: value), got {self.kind_of(node)}")
            return None
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        allowed = required | optional
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, f"keys of {what} must be names, got {self.kind_of(key_node)}")
                continue
            if key in keys:
                self.problem(
                    key_node,
                    f"duplicate key {key!r} in {what} (first at line {keys[key].start_mark.line + 1})",
                )
                continue
            keys[key] = key_node
            if key not in allowed:
                self.problem(key_node, f"unknown key {key!r} in {what}; expected {one_of(sorted(allowed))}")
                continue
            values[key] = value_node
        for key in sorted(required - keys.keys()):
            self.problem(node, f"{what} is missing {key!r}")
        return values

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list, got {self.kind_of(node)}")
            return None
        return list(node.value)

    def scalar(self, node: Node) -> object:
        if not isinstance(node, ScalarNode):
            return NotScalar(node)
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as exc:  # e.g. an impossible date such as 2024-02-30
            return NotScalar(node, str(exc))

    def kind_of(self, node: Node) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        return describe(self.scalar(node))

    def text(self, node: Node, what: str) -> str | None:
        value = self.scalar(node)
        if not isinstance(value, str):
            hint = " (quote it)" if isinstance(value, int | float | dt.date) else ""
            self.problem(node, f"{what} must be a string, got {self.kind_of(node)}{hint}")
            return None
        if not value.strip():
            self.problem(node, f"{what} must not be empty")
            return None
        return value


class NotScalar:
    """Stands for a node that is not a plain scalar (or failed to construct), so callers report it."""

    def __init__(self, node: Node, error: str = ""):
        self.node = node
        self.error = error


def one_of(names: list[str]) -> str:
    return "one of " + ", ".join(names)
