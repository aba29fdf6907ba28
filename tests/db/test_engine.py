"""SQLite as offpath opens it: WAL, a busy timeout, and writers that queue instead of failing."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from offpath.db.engine import open_engine, reading, writing


def test_sqlite_is_opened_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with reading(engine) as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(session.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 1000


def test_read_then_write_transactions_do_not_fail_with_database_is_locked(tmp_path: Path) -> None:
    # A deferred transaction that reads, then writes, loses with "database is
    # locked" when another writer committed in between; BEGIN IMMEDIATE waits.
    engine = open_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with writing(engine) as session:
        session.execute(text("CREATE TABLE counter (n INTEGER)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with writing(engine) as session:
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with reading(engine) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 200
