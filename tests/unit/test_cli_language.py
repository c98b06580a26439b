"""Chinese for bureau staff: ``--lang zh`` or a Chinese locale gives Chinese headers, help summaries and
messages; English stays the default; every catalogue entry is used by the command line."""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli.main import build_parser, main
from dualdraw_client import i18n
from dualdraw_client.cli.options import HANDLER
from dualdraw_client.cli.output import Output
from dualdraw_client.i18n import ZH, language_from, set_language
from tests.unit.test_cli_json_everywhere import REMOTE, StubClient, command_argv
from tests.unit.test_client_fakes import Fake, serve

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "clients" / "python" / "dualdraw_client" / "cli").glob("*.py")),
    *sorted((ROOT / "service" / "dualdraw" / "entrypoints" / "cli").glob("*.py")),
    ROOT / "service" / "dualdraw" / "entrypoints" / "site" / "cli.py",
]


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield
    set_language("en")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serve(Fake()) as target:
        monkeypatch.setenv("DUALDRAW_SERVER", target)
        monkeypatch.setenv("DUALDRAW_ACTOR", "alice")
        yield target


def test_lang_zh_draws_list_prints_chinese_headers(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "draws", "list"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    for word in ("编号", "任务", "基准日", "可抽取", "抽中"):
        assert word in header
    assert "SELECTED" not in header


def test_a_chinese_locale_selects_chinese_and_english_stays_the_default(
    server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["draws", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("ID")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["draws", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("编号")
    assert main(["--lang", "en", "draws", "list"]) == 0  # the option wins over the locale
    assert capsys.readouterr().out.splitlines()[0].startswith("ID")


def test_json_output_does_not_change_with_the_language(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["draws", "list", "--json"]) == 0
    english = capsys.readouterr().out
    assert main(["--lang", "zh", "draws", "list", "--json"]) == 0
    assert capsys.readouterr().out == english


def test_help_summaries_of_the_staff_commands_are_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "zh", "--help"])
    text = capsys.readouterr().out
    for summary in (
        "抽查任务",
        "已完成的抽取",
        "检查结果及其公示",
        "离线验证抽取包",
        "检查、测试、解释和预览规则文件",
    ):
        assert summary in text
    with pytest.raises(SystemExit):
        main(["--lang", "zh", "rules", "--help"])
    assert "校验规则文件" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["--lang", "zh", "draws"], {}, "zh"),
        (["--lang=zh"], {"LANG": "en_US.UTF-8"}, "zh"),
        (["draws"], {"LANG": "zh_CN.UTF-8"}, "zh"),
        (["draws"], {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        (["draws"], {"LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
        (["--lang", "en"], {"LANG": "zh_CN.UTF-8"}, "en"),
        (["draws"], {}, "en"),
    ],
)
def test_the_language_comes_from_the_option_then_the_locale(
    argv: list[str], environ: dict[str, str], expected: str
) -> None:
    assert language_from(argv, environ) == expected


def _string_literals() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_catalogue_entry_is_a_string_of_the_command_line() -> None:
    unused = sorted(set(ZH) - _string_literals())
    assert unused == [], f"catalogue entries no command uses: {unused}"


def test_catalogue_entries_keep_their_format_fields() -> None:
    import string

    for english, chinese in ZH.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        assert {f for _, f, _, _ in string.Formatter().parse(chinese) if f} == fields, english


CJK = re.compile("[\u3400-\u9fff]")


def _help_texts(parser: argparse.ArgumentParser, path: str = "dualdraw") -> Iterator[tuple[str, str]]:
    """(command, text) for the description, group titles and every help text of ``parser`` and below."""
    if parser.description:
        yield path, parser.description
    for group in parser._action_groups:
        yield path, str(group.title)
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            yield path, action.help
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", str(choice.help)
            for name, sub in action.choices.items():
                yield from _help_texts(sub, f"{path} {name}")


def test_every_help_text_of_every_command_is_chinese_with_lang_zh() -> None:
    from dualdraw.entrypoints.cli.main import build_parser

    set_language("zh")
    texts = list(_help_texts(build_parser()))
    assert len(texts) > 700
    english = sorted({f"{path}: {text}" for path, text in texts if not CJK.search(text)})
    assert english == [], f"help without Chinese: {english}"


def _looked_up_literals() -> dict[str, str]:
    """Every string literal the command line passes to ``_``, with the file it is in."""
    found: dict[str, str] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found[arg.value] = path.name
    return found


def test_every_message_id_has_chinese() -> None:
    ids = _looked_up_literals()
    assert len(ids) > 100
    missing = sorted(f"{where}: {text!r}" for text, where in ids.items() if text not in ZH)
    assert missing == [], f"message ids without Chinese: {missing}"


class _Recording(dict[str, str]):
    """The catalogue, noting every English string looked up that it lacks."""

    def __init__(self, catalogue: dict[str, str]) -> None:
        super().__init__(catalogue)
        self.missing: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]  # dict.get's overloads
        if key not in self and not CJK.search(key):
            self.missing.add(key)
        return super().get(key, default)


ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
DATA_WORDS = {"SHA", "JSON", "Merkle", "dualdraw", "verify", "csv", "data"}
"""Words that stay as they are in Chinese output: names, formats, the command itself, stub values."""


@pytest.mark.parametrize(("path", "parser"), REMOTE, ids=[" ".join(p) for p, _ in REMOTE])
def test_each_remote_command_speaks_chinese(
    path: tuple[str, ...], parser: argparse.ArgumentParser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers, labels and messages of every remote command (run against a stub client) are in the
    catalogue, and no English word is printed besides the data."""
    recording = _Recording(ZH)
    monkeypatch.setattr(i18n, "ZH", recording)
    set_language("zh")
    (tmp_path / "x").write_text("{}", encoding="utf-8")
    argv = [a for a in command_argv(path, parser, tmp_path) if a != "--json"]
    args = build_parser().parse_args(argv)
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stderr = io.StringIO()
    with contextlib.chdir(tmp_path), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        args.__dict__[HANDLER](StubClient(), args, Output(False))
    stdout.flush()
    printed = stdout.buffer.getvalue().decode("utf-8") + stderr.getvalue()
    assert sorted(recording.missing) == []
    given = [a for a in argv[len(path) :] if not a.startswith("-")]

    def words(line: str) -> set[str]:
        for value in sorted(given, key=len, reverse=True):  # the command's own arguments are data
            line = line.replace(value, "")
        return set(ENGLISH_WORD.findall(re.sub(r"--[a-z-]+", "", line))) - DATA_WORDS

    assert [line for line in printed.splitlines() if words(line)] == []
