"""The Python client is a distribution of its own: it needs grpcio, grpcio-status and protobuf, never the
server tree (no SQLAlchemy, no durable_rules, no ``dualdraw`` module outside ``dualdraw.v1``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"

# Third-party packages only the server needs.
SERVER_ONLY = (
    "sqlalchemy",
    "durable_rules",
    "durable",
    "psycopg",
    "alembic",
    "yaml",
    "jinja2",
    "cryptography",
)

# Imports every client module, builds the command line and runs one remote command against a closed port,
# with everything of the server refused at import time.
_BLOCKED_IMPORT = f"""
import importlib, importlib.abc, pkgutil, sys
SERVER_ONLY = {SERVER_ONLY!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        wire = name == "dualdraw.v1" or name.startswith("dualdraw.v1.")
        if top in SERVER_ONLY or (name.startswith("dualdraw.") and not wire):
            raise ImportError("the client must not need " + name)
sys.meta_path.insert(0, Block())
import dualdraw_client
walked = pkgutil.walk_packages(dualdraw_client.__path__, "dualdraw_client.")
names = [m.name for m in walked if not m.name.endswith(".__main__")]
for name in names:
    importlib.import_module(name)
from dualdraw_client.cli import main
code = main(["tasks", "list", "--server", "127.0.0.1:1", "--timeout", "2", "--actor", "a"])
print("modules", len(names), "exit", code)
"""


def _without_server_on_path() -> dict[str, str]:
    """The environment with only the client tree on PYTHONPATH (the lead's venv may still map the server)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(CLIENT)
    return env


def test_the_client_imports_and_runs_with_the_server_side_blocked(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-c", _BLOCKED_IMPORT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_without_server_on_path(),
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    found = re.search(r"modules (\d+) exit (\d+)", ok.stdout)
    assert found, ok.stdout
    assert int(found[1]) >= 5  # every module of the package was imported, not just __init__
    assert found[2] == "3", ok.stderr  # UNAVAILABLE: a transient failure, reported and not raised
    assert "UNAVAILABLE" in ok.stderr


def test_the_blocker_refuses_a_server_module(tmp_path: Path) -> None:
    script = _BLOCKED_IMPORT.replace("import dualdraw_client\n", "import dualdraw_client, sqlalchemy\n")
    assert script != _BLOCKED_IMPORT
    refused = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_without_server_on_path(),
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "the client must not need sqlalchemy" in refused.stderr


def test_the_client_installs_alone_without_the_server(tmp_path: Path) -> None:
    """``pip install clients/python`` into a fresh venv: the client and the wire modules import; no server
    packages or server modules come along. Uses pip's cache (and the index when the cache lacks a wheel)."""
    source = tmp_path / "src"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=600,
        check=False,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no wheels for the client's dependencies here: {install.stderr.strip()[-300:]}")
    assert install.returncode == 0, install.stderr

    probe = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util, dualdraw_client, dualdraw.v1.draws_pb2, dualdraw.v1.draws_pb2_grpc;"
            "print(importlib.util.find_spec('dualdraw.domain') is None,"
            " dualdraw_client.DualdrawClient.__name__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["True", "DualdrawClient"]

    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=True,
    )
    installed = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert "dualdraw-client" in installed
    assert {"sqlalchemy", "durable-rules", "alembic", "psycopg", "dualdraw"} & installed == set()

    command = subprocess.run(
        [env_dir / "bin" / "dualdraw-client", "--help"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )
    assert command.returncode == 0, command.stderr
    assert "import" in command.stdout
    assert "tasks" in command.stdout
