"""The audit signing key: required outside development; in development one key file, created once and
reused at every start; ``audit verify`` names the keys that signed and flags a change of key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli.main import main
from dualdraw.entrypoints.grpc.server import create_server, development_key_path
from dualdraw.settings import Settings
from dualdraw.v1 import directory_pb2
from dualdraw_client import DualdrawClient
from tests.e2e.conftest import RULES
from tests.security.conftest import KEYS


def _settings(database_url: str, **overrides: object) -> Settings:
    return Settings(  # type: ignore[arg-type]  # the overrides are Settings fields
        database_url=database_url, rules_path=RULES, address="127.0.0.1:0", draw_process="off", **overrides
    )


def _department(department_id: str) -> directory_pb2.Department:
    return directory_pb2.Department(
        id=department_id, display_name=department_id, level=1, region_code="330000"
    )


def _start_change_and_stop(settings: Settings, department: str) -> tuple[str, list[str], str]:
    """Starts a server, imports one department (an audited change it signs), and answers the server's key
    id, the key ids ``VerifyLog`` reports and the output of ``dualdraw audit verify``."""
    running = create_server(settings)
    target = f"127.0.0.1:{running.port}"
    try:
        with DualdrawClient(target, actor="e2e-tester", timeout=30) as client:
            client.import_directory(
                [directory_pb2.ImportDirectoryRequest(departments=[_department(department)])]
            )
            verdict = client.verify_log()
        assert verdict.ok, verdict.problem
        assert running.store.signer is not None
        return running.store.signer.key_id, list(verdict.key_ids), target
    finally:
        running.stop(grace=1)


def test_outside_development_the_server_refuses_to_start_without_an_audit_key(
    database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="DUALDRAW_AUDIT_KEY_FILE is not set"):
        create_server(_settings(database_url, auth="on", token_keys=KEYS))
    missing = tmp_path / "absent.pem"
    with pytest.raises(ValueError, match=f"DUALDRAW_AUDIT_KEY_FILE names {missing}, which does not exist"):
        create_server(_settings(database_url, auth="on", token_keys=KEYS, audit_key_file=missing))
    assert not missing.exists()


def test_development_creates_one_key_file_and_reuses_it_across_restarts(
    database_url: str, tmp_path: Path
) -> None:
    configured = tmp_path / "keys" / "audit.pem"
    # SQLite: beside the database file; PostgreSQL: the configured path (DUALDRAW_AUDIT_KEY_FILE).
    sqlite = database_url.startswith("sqlite")
    overrides: dict[str, object] = (
        {"auth": "off"} if sqlite else {"auth": "off", "audit_key_file": configured}
    )
    key_file = development_key_path(database_url) if sqlite else configured
    assert not key_file.exists()
    first, _, _ = _start_change_and_stop(_settings(database_url, **overrides), "dev-1")
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_bytes()
    second, key_ids, _ = _start_change_and_stop(_settings(database_url, **overrides), "dev-2")
    assert second == first
    assert key_ids == [first]  # every checkpoint of both runs: one key
    assert key_file.read_bytes() == written


def test_development_key_path_is_beside_the_sqlite_file_or_in_the_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert development_key_path(f"sqlite:///{tmp_path}/d.db") == tmp_path / "d.db.audit-key.pem"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert (
        development_key_path("postgresql+psycopg://u@h/db")
        == tmp_path / "state" / "dualdraw" / "audit-key.pem"
    )


def test_audit_verify_names_each_signing_key_and_flags_a_change(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    first, _, _ = _start_change_and_stop(_settings(database_url, auth="off", audit_key_file=old), "k-1")
    settings = _settings(database_url, auth="off", audit_key_file=new)
    running = create_server(settings)
    try:
        target = f"127.0.0.1:{running.port}"
        with DualdrawClient(target, actor="e2e-tester", timeout=30) as client:
            client.import_directory([directory_pb2.ImportDirectoryRequest(departments=[_department("k-2")])])
            verdict = client.verify_log()
        assert running.store.signer is not None
        second = running.store.signer.key_id
        assert second != first
        assert verdict.ok
        assert list(verdict.key_ids) == [first, second]  # in the order they first signed
        monkeypatch.setenv("DUALDRAW_SERVER", target)
        capsys.readouterr()
        assert main(["audit", "verify"]) == 0
        out = capsys.readouterr().out
        assert f"keys {first}, {second}" in out
        assert f"KEY CHANGED: checkpoints were signed by 2 keys, in this order: {first} -> {second}" in out
    finally:
        running.stop(grace=1)
