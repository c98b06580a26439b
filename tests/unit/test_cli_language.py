"""Chinese for bureau staff: ``--lang zh`` or a Chinese locale gives Chinese headers, help summaries and
messages; English stays the default; every catalogue entry is used by the command line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli.main import main
from dualdraw_client.i18n import ZH, language_from, set_language
from tests.unit.test_client_fakes import Fake, serve

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "clients" / "python" / "dualdraw_client" / "cli").glob("*.py")),
    *sorted((ROOT / "service" / "dualdraw" / "entrypoints" / "cli").glob("*.py")),
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
