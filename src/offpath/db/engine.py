"""Opening a database: SQLite tuned for many writers, or any SQLAlchemy URL.

SQLite runs in WAL mode with a busy timeout, and offpath starts its write
transactions with `BEGIN IMMEDIATE`: a deferred transaction that reads and
then writes fails with "database is locked" when another writer got there
first, instead of waiting its turn. PostgreSQL (psycopg 3) and MariaDB
(PyMySQL) need nothing special; their claims rely on conditional UPDATEs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.orm import Session

from offpath.errors import DatabaseUnavailable, DatabaseUrlInvalid, TransactionConflict

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_BEGIN_OPTION: Final = "offpath_begin"


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of `url`; DatabaseUrlInvalid when it is not one."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlInvalid(url, str(exc)) from None
    # The drivers offpath ships; a bare postgresql:// or mysql:// URL means them.
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
    return parsed


def redacted(url: str) -> str:
    """`url` with its password hidden, for messages and listings."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout and BEGIN IMMEDIATE writers."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
        }
    else:
        kwargs["pool_pre_ping"] = True
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise DatabaseUrlInvalid(redacted(url), str(exc)) from None
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads; rolled back at the end."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            with session.begin():
                yield session
        except SqlOperationalError as exc:
            raise DatabaseUnavailable(redacted(str(engine.url)), describe(exc)) from None


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A write transaction, committed at the end (BEGIN IMMEDIATE on SQLite)."""
    bind = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    with Session(bind, expire_on_commit=False) as session:
        try:
            with session.begin():
                yield session
        except SqlOperationalError as exc:
            if _is_conflict(exc):
                raise TransactionConflict(redacted(str(engine.url)), describe(exc)) from None
            raise DatabaseUnavailable(redacted(str(engine.url)), describe(exc)) from None


# PostgreSQL's deadlock and serialization failures, MySQL's deadlock and lock
# wait timeout: the transaction lost a race and may be run again.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
_CONFLICT_MYSQL_CODES = frozenset({1213, 1205})


def _is_conflict(exc: SqlOperationalError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _CONFLICT_SQLSTATES:
        return True
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] in _CONFLICT_MYSQL_CODES


def describe(exc: BaseException) -> str:
    """A driver's error as one line (drivers spread theirs over several)."""
    text = str(getattr(exc, "orig", None) or exc)
    return (
        " ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__
    )


def write_retrying(
    engine: Engine, work: Callable[[Session], T], *, retry_on: type[Exception], attempts: int = 20
) -> T:
    """Run `work` in a write transaction, again when it loses a race (`retry_on`, a deadlock)."""
    for attempt in range(attempts):
        try:
            with writing(engine) as session:
                return work(session)
        except (retry_on, TransactionConflict):
            if attempt == attempts - 1:
                raise
            # Back off a little, with jitter, so racing writers stop colliding.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise AssertionError("unreachable")
