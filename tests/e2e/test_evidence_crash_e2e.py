"""kill -9 during an evidence upload: between writing and renaming the file, and between renaming it and
committing its row. Neither leaves anything visible (no file under a hash, no row); the upload is redone
after a restart, and a temporary file left by the crash is swept at start once it is stale."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from dualdraw.bootstrap import evidence_storage
from dualdraw.settings import Settings
from dualdraw_client.errors import NotFoundError
from tests.e2e.test_crash_e2e import count, killed, serving


def evidence_files(root: Path) -> tuple[list[str], list[str]]:
    """The files under their hash, and the temporary ones, in the store at ``root``."""
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    final = sorted(p.name for p in files if not p.name.endswith(".part"))
    return final, sorted(p.name for p in files if p.name.endswith(".part"))


@pytest.mark.slow
@pytest.mark.parametrize("point", ["evidence.before_rename", "evidence.before_commit"])
def test_an_upload_killed_before_its_rename_or_commit_leaves_nothing_visible(
    database_url: str, point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "evidence"
    monkeypatch.setenv("DUALDRAW_EVIDENCE_DIR", str(root))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(os.urandom(1024 * 1024 + 77))
    sha256 = hashlib.sha256(photo.read_bytes()).hexdigest()
    with serving(database_url, crash_at=point) as (process, client):
        killed(process, lambda: client.upload_evidence(photo, request_id="crash-upload"))
    assert count(database_url, "SELECT count(*) FROM evidence") == 0
    final, parts = evidence_files(root)
    if point == "evidence.before_rename":
        assert (final, len(parts)) == ([], 1)  # only the temporary file, which no reader opens
        old = time.time() - 2 * 3600
        os.utime(root / "sha256" / sha256[:2] / parts[0], (old, old))
    else:
        assert (final, parts) == ([sha256], [])  # whole and checked, but no row names it

    with serving(database_url) as (_, client):  # the restart sweeps the stale temporary file
        assert evidence_files(root)[1] == []
        with pytest.raises(NotFoundError):
            client.get_evidence(sha256)
        assert list(client.iter_evidence()) == []
        stored = client.upload_evidence(photo, request_id="crash-upload")  # the retry of the lost call
        assert stored.sha256 == sha256
        assert client.verify_evidence().ok
        assert client.verify_log().ok
    assert count(database_url, "SELECT count(*) FROM evidence") == 1
    assert evidence_files(root) == ([sha256], [])


def test_the_start_sweeps_stale_temporary_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "evidence" / "sha256" / "ab"
    folder.mkdir(parents=True)
    stale, fresh = folder / f".{'ab' * 32}.1.part", folder / f".{'ab' * 32}.2.part"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"an upload in flight")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    store, limits = evidence_storage(
        Settings(database_url="sqlite:///:memory:", evidence_dir=tmp_path / "evidence")
    )
    assert store.root == tmp_path / "evidence"
    assert not stale.exists()
    assert fresh.exists()
    assert limits.max_bytes == 64 * 1024 * 1024
