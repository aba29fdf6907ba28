"""Throw-away databases on every backend offpath supports, for tests.

SQLite always; PostgreSQL (127.0.0.1:5432, user postgres) and MariaDB
(127.0.0.1:3306, root) when they answer. With CI=true a missing server is a
failure, not a skip: CI machines run both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pymysql
import pytest

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
BACKENDS = ("sqlite", "postgresql", "mariadb")


def _unavailable(backend: str, problem: object) -> None:
    message = f"{backend} is not reachable on 127.0.0.1: {problem}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required when CI=true)")
    pytest.skip(message)


@contextmanager
def scratch_database(backend: str, tmp_path: Path, *, name: str | None = None) -> Iterator[str]:
    """A new, empty database on `backend`, dropped afterwards; its SQLAlchemy URL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name or uuid.uuid4().hex[:8]}.sqlite'}"
        return
    name = name or f"offpath_t_{uuid.uuid4().hex[:12]}"
    if backend == "postgresql":
        try:
            admin = psycopg.connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.Error as exc:
            _unavailable(backend, exc)
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            with psycopg.connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
            ) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=5)
    except pymysql.MySQLError as exc:
        _unavailable(backend, exc)
    with conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=5)
        with conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
