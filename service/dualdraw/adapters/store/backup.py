"""Backup and restore of the SQLite default with sqlite3's online backup API (consistent while serving)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise ValueError(
            f"backup and restore are for SQLite files; use pg_dump for {parsed.get_backend_name()}"
        )
    return Path(parsed.database)


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # page by page, under SQLite's own locking: a consistent snapshot
            dst.execute("PRAGMA integrity_check").fetchone()
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(url: str, target: Path) -> None:
    """Writes a consistent copy of the database at ``url`` to ``target`` (which must not exist)."""
    source = sqlite_path(url)
    if not source.exists():
        raise FileNotFoundError(source)
    if target.exists():
        raise FileExistsError(target)
    _copy(source, target)


def restore_sqlite(backup: Path, url: str) -> None:
    """Replaces the database at ``url`` with ``backup`` (stop the server first)."""
    if not backup.exists():
        raise FileNotFoundError(backup)
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise ValueError(f"{backup} fails SQLite's integrity check")
    finally:
        check.close()
    _copy(backup, sqlite_path(url))
