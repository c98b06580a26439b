"""``dualdraw completion bash|zsh|fish``: scripts generated from the parser that name its commands, and the
bash one completes command paths, options and choices when run."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dualdraw.entrypoints.cli.main import build_parser, main
from dualdraw_client.cli.completion import script, walk


def test_the_tree_holds_nested_commands_options_and_choices() -> None:
    tree = walk(build_parser(), "dualdraw")
    assert {"draws", "verify", "rules", "completion", "tasks"} <= set(tree.commands["dualdraw"])
    assert {"list", "show", "export"} <= set(tree.commands["dualdraw draws"])
    assert "--limit" in tree.options["dualdraw draws list"]
    assert tree.choices["dualdraw --lang"] == ["en", "zh"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_command_prints_a_script_naming_the_commands(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    text = capsys.readouterr().out
    for name in ("draws", "verify", "rules", "audit", "results"):
        assert name in text
    for option in ("json", "lang", "limit"):
        assert (f"-l {option}" if shell == "fish" else f"--{option}") in text
    assert "dualdraw draws list" in text


def _bash_complete(words: list[str]) -> list[str]:
    """Completions bash offers when the cursor ends ``words`` (the last word is being typed)."""
    program = script(build_parser(), "bash")
    quoted = " ".join(f"'{w}'" for w in words)
    probe = (
        f"{program}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _dualdraw;"
        ' printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    return sorted(line for line in done.stdout.splitlines() if line)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_commands_verbs_options_and_choices() -> None:
    assert _bash_complete(["dualdraw", "dra"]) == ["draw", "draws"]
    assert _bash_complete(["dualdraw", "draws", "l"]) == ["list"]
    assert "--limit" in _bash_complete(["dualdraw", "draws", "list", "--"])
    assert _bash_complete(["dualdraw", "--lang", ""]) == ["en", "zh"]
    assert _bash_complete(["dualdraw", "-v", "rules", "ch"]) == ["check"]
    assert _bash_complete(["dualdraw", "completion", ""]) == []  # a positional: bash falls back to files


def test_an_unknown_shell_is_refused() -> None:
    with pytest.raises(ValueError, match="no completion for shell"):
        script(build_parser(), "tcsh")
