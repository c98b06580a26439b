"""Fuzzing the rule loader: any text and any YAML structure either loads or raises
``RuleFileError`` whose every problem names the file, a line and a column; never another exception. And the
size limits on rule files hold.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualdraw.domain.exclusions import loader, plain_yaml
from dualdraw.domain.exclusions.loader import load_rule_texts
from dualdraw.domain.exclusions.plain_yaml import RuleFileError
from tests.unit.test_rules_loader import VALID

FILE = "fuzz/rules.yaml"
YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as line breaks
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The rule language's own words, so that generated structures get past the first checks.
WORDS = [
    "version", "rules", "id", "title", "category", "legal_basis", "article", "text", "reason", "when",
    "object", "facts", "kind", "where", "attr", "op", "value", "context", "minus_days", "plus_days",
    "absent", "status", "eq", "ne", "in", "not_in", "gte", "lte", "gt", "lt", "complaint", "campaign",
    "as_of", "active", "complaint_handling", "risk_class", "received_on", "jurisdictions", "effective",
]  # fmt: skip


def load(text: str) -> None:
    """Loads ``text``; a ``RuleFileError`` must carry only well-placed problems. Other exceptions escape."""
    error: RuleFileError | None = None
    try:
        load_rule_texts({FILE: text})
    except RuleFileError as caught:
        error = caught
    if error is not None:
        assert error.problems
        lines = len(YAML_BREAKS.findall(text)) + 2  # the end of the stream may be one line further
        for problem in error.problems:
            assert problem.file == FILE, str(problem)
            assert 1 <= problem.line <= lines, str(problem)
            assert problem.column >= 1, str(problem)
            assert problem.message, str(problem)


@FUZZ
@given(st.text(max_size=400))
def test_any_text_loads_or_gives_located_problems(text: str) -> None:
    load(text)


@FUZZ
@given(st.lists(st.sampled_from([*WORDS, ":", " ", "\n", "  ", "- ", "{", "}", "[", "]", ",", "'", '"', "#",
                                 "&a", "*a", "!!python/object", "1", "2026-12-01", "null", "~", "\t"]),
                max_size=80))  # fmt: skip
def test_yaml_like_token_soup_loads_or_gives_located_problems(tokens: list[str]) -> None:
    load("".join(tokens))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.sampled_from(WORDS),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=8), st.integers())
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(WORDS), st.text(max_size=8), st.integers()), inner, max_size=5
        ),
    ),
    max_leaves=30,
)


@FUZZ
@given(structures)
def test_any_yaml_structure_loads_or_gives_located_problems(document: Any) -> None:
    load(yaml.safe_dump(document, allow_unicode=True))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


BASE = yaml.safe_load(VALID)
BASE_PATHS = _paths(BASE)[1:]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(BASE_PATHS), structures), min_size=1, max_size=3))
def test_a_valid_file_with_parts_replaced_by_junk_loads_or_gives_located_problems(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    document = copy.deepcopy(BASE)
    for path, junk in edits:
        node = document
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = junk
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    load(yaml.safe_dump(document, allow_unicode=True))


# --- size limits -------------------------------------------------------------------------------------------


def problems_of(texts: dict[str, str]) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        load_rule_texts(texts)
    return [str(p) for p in caught.value.problems]


def test_a_rule_file_over_the_size_limit_is_refused_before_parsing() -> None:
    room = plain_yaml.MAX_FILE_BYTES - len(VALID.encode())
    at_limit = VALID + "#" + "x" * (room - 2) + "\n"
    assert len(at_limit.encode()) == plain_yaml.MAX_FILE_BYTES
    assert load_rule_texts({"a.yaml": at_limit}).rules  # exactly at the limit: loads
    over = VALID + "#" + "x" * (room - 1) + "\n"
    assert problems_of({"a.yaml": over}) == [
        f"a.yaml:1:1: the file has {plain_yaml.MAX_FILE_BYTES + 1} bytes; a rule file may have at most "
        f"{plain_yaml.MAX_FILE_BYTES}"
    ]


def test_a_rule_set_over_the_size_limit_is_refused() -> None:
    files = loader.MAX_SET_BYTES // plain_yaml.MAX_FILE_BYTES + 1
    comment = "#" + "x" * (plain_yaml.MAX_FILE_BYTES - 2) + "\n"
    texts = {f"r{n}.yaml": comment for n in range(files)}
    problems = problems_of(texts)
    assert len(problems) == 1
    assert problems[0].startswith("r0.yaml:1:1: the rule files have ")
    assert problems[0].endswith(f"a set may have at most {loader.MAX_SET_BYTES}")


def test_a_rule_file_with_too_many_yaml_values_is_refused() -> None:
    text = "version: 1\nrules: []\nx: [" + ",".join(["0"] * plain_yaml.MAX_YAML_NODES) + "]\n"
    assert len(text.encode()) < plain_yaml.MAX_FILE_BYTES
    problems = problems_of({"a.yaml": text})
    assert len(problems) == 1
    assert problems[0].startswith("a.yaml:3:")
    assert problems[0].endswith(f"more than {plain_yaml.MAX_YAML_NODES} YAML values in one file")
