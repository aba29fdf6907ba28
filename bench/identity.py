"""Benchmark: what Keystone tokens cost: a password login, and the check every request makes.

    bench/identity.py                      SQLite and PostgreSQL (127.0.0.1:5432)
    bench/identity.py --backends sqlite    SQLite only
    bench/identity.py --logins 5 --checks 200 --json

A login is an argon2id verification plus the scope's reads and a Fernet seal;
a check (what every API request does) is a Fernet open plus the reads that
make a revocation, a disabled user or a lost role hold at once: the user and
its domain, the project and its domain, the roles and their implications,
the revocations. Timed in process, sequentially, on one API database with
`--users` users in as many projects.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from offpath.db.engine import open_engine
from offpath.db.schema_version import SchemaKind, sync
from offpath.identity.auth_request import parse_auth_request
from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import bootstrap
from offpath.identity.directory import IdentityDirectory
from offpath.service_token import login_body

POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
PASSWORD = "bench-secret"


@dataclass(frozen=True, slots=True)
class Row:
    """One backend's figures."""

    backend: str
    users: int
    login_median_ms: float
    login_p90_ms: float
    check_median_us: float
    check_p90_us: float
    checks_per_s: float


def _timed(action: Callable[[], object], runs: int) -> list[float]:
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        took.append(time.perf_counter() - began)
    return took


def _p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="offpath-bench-identity-") as root:
            yield f"sqlite:///{Path(root) / 'api.sqlite'}"
        return
    import psycopg  # noqa: PLC0415  (PostgreSQL only when asked)

    name = f"offpath_bench_identity_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(backend: str, *, users: int, logins: int, checks: int) -> Row:
    """Logins and checks on a fresh API database of `backend`."""
    with _database(backend) as url:
        engine = open_engine(url)
        try:
            sync(engine, SchemaKind.API)
            bootstrap(engine, password=PASSWORD)
            directory = IdentityDirectory(engine)
            for n in range(users):
                directory.create_project(f"p{n}")
                directory.create_user(f"u{n}", password=PASSWORD)
                directory.add_role("member", user=f"u{n}", project=f"p{n}")
            tokens = TokenService(engine)
            request = parse_auth_request(login_body("u0", PASSWORD, "p0"))
            login = _timed(lambda: tokens.issue(request), logins)
            token = tokens.issue(request).id
            check = _timed(lambda: tokens.validate(token), checks)
        finally:
            engine.dispose()
    return Row(
        backend=backend,
        users=users,
        login_median_ms=round(statistics.median(login) * 1e3, 1),
        login_p90_ms=round(_p90(login) * 1e3, 1),
        check_median_us=round(statistics.median(check) * 1e6),
        check_p90_us=round(_p90(check) * 1e6),
        checks_per_s=round(len(check) / sum(check)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [
        measure(backend, users=args.users, logins=args.logins, checks=args.checks)
        for backend in args.backends.split(",")
    ]
    if args.json:
        print(json.dumps([asdict(row) for row in rows]))
        return 0
    print("| backend | users | login median | login p90 | check median | check p90 | checks/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.backend} | {row.users} | {row.login_median_ms} ms | {row.login_p90_ms} ms "
            f"| {row.check_median_us} µs | {row.check_p90_us} µs | {row.checks_per_s} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
