"""Run Tempest against a fresh `offpath serve`; print passed/failed/skipped per module.

Usage: `python -m offpath_tempest [--workers N] [--regex R] [--list]` with
`tempest/` on PYTHONPATH (what `make tempest` does). Everything it writes
is under `.tempest/`; serve is always stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from offpath_tempest.accounts import accounts_yaml, plan_accounts, provision
from offpath_tempest.conf import Paths, tempest_conf
from offpath_tempest.resources import admin_token, seed
from offpath_tempest.results import FAILED, count_by_module, read_csv, table
from offpath_tempest.serve import SimHost, offpath, start_serve
from offpath_tempest.venv import ensure_venv, tempest_package

HERE: Final = Path(__file__).resolve().parent.parent
ROOT: Final = HERE.parent
INCLUDE: Final = HERE / "include.txt"
EXCLUDE: Final = HERE / "exclude.txt"
# Two NIC hosts: direct ports on physnet1 for the scenario, and two hosts for every move.
HOSTS: Final = (SimHost("compute-a", "cx6dx", 8), SimHost("compute-b", "cx6dx", 8))
RUN_TIMEOUT: Final = 3 * 3600
# Short enough that tests of a disabled service see it down quickly.
SERVE_CONF: Final = "[DEFAULT]\nservice_down_time = 10\nreport_interval = 2\n"


def main(argv: Sequence[str] | None = None) -> int:
    """The exit code: 0 when no test failed."""
    args = _parser().parse_args(argv)
    work: Path = args.work.resolve()
    bin_dir = ensure_venv(args.venv.resolve())
    _reset(work, tempest_package(bin_dir))
    subprocess.run([str(bin_dir / "stestr"), "init"], cwd=work, check=True, timeout=60)
    if args.list:
        return _tempest(bin_dir, work, ["--list-tests", *_selection(args.regex)], tee=True)
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "OFFPATH_BOOTSTRAP_PASSWORD": password}
    state = work / "state"
    conf = work / "serve.conf"
    conf.write_text(SERVE_CONF, encoding="utf-8")

    def run(*command: str) -> str:
        return offpath(*command, "--config-file", str(conf), "--state-dir", str(state), env=env)

    run("db", "sync")
    accounts = plan_accounts(args.workers)
    print(f"provisioning {len(accounts)} accounts", flush=True)
    provision(accounts, run)
    serve = start_serve(
        state_dir=state, config_file=conf, hosts=HOSTS, log=work / "serve.log", env=env
    )
    try:
        base = serve.wait_ready()
        print(f"offpath serve ready at {base} (log: {serve.log})", flush=True)
        seeded = seed(base, admin_token(base, password=password))
        paths = Paths(work / "etc" / "accounts.yaml", work / "logs", work / "locks")
        paths.accounts.write_text(accounts_yaml(accounts), encoding="utf-8")
        (work / "etc" / "tempest.conf").write_text(
            tempest_conf(base, seeded, paths, compute_nodes=len(HOSTS)), encoding="utf-8"
        )
        selection = ["--concurrency", str(args.workers), *_selection(args.regex)]
        print(f"running Tempest ({work / 'tempest-run.log'})", flush=True)
        _tempest(bin_dir, work, selection, tee=args.verbose)
    finally:
        code = serve.stop()
        print(f"offpath serve stopped (exit {code})", flush=True)
    outcomes = read_csv(_last_run_csv(bin_dir, work))
    (work / "results.txt").write_text(
        "".join(f"{o.outcome} {o.test}\n" for o in outcomes), encoding="utf-8"
    )
    counts = count_by_module(outcomes)
    print(table(counts))
    print(f"each test's outcome: {work / 'results.txt'}; Tempest's log: {work / 'logs'}")
    failed = sum(count[FAILED] for count in counts.values())
    return 1 if failed or not outcomes else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="offpath_tempest", description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="Tempest workers (default 2)")
    parser.add_argument("--regex", help="run the tests this regex selects instead of include.txt")
    parser.add_argument("--list", action="store_true", help="list the tests in scope and stop")
    parser.add_argument("--verbose", action="store_true", help="show Tempest's output as it runs")
    parser.add_argument("--work", type=Path, default=ROOT / ".tempest", help="working directory")
    parser.add_argument(
        "--venv", type=Path, default=ROOT / ".tempest-venv", help="Tempest's virtual environment"
    )
    return parser


def _reset(work: Path, package: Path) -> None:
    """A fresh working directory: no state, accounts, locks or results of a previous run."""
    if work.exists():
        shutil.rmtree(work)
    for sub in ("etc", "logs", "locks"):
        (work / sub).mkdir(parents=True)
    (work / ".stestr.conf").write_text(
        f"[DEFAULT]\ntest_path={package / 'test_discover'}\ntop_dir={package.parent}\n"
        "group_regex=([^\\.]*\\.)*\n",
        encoding="utf-8",
    )


def _selection(regex: str | None) -> list[str]:
    chosen = ["--regex", regex] if regex else ["--include-list", str(INCLUDE)]
    return [*chosen, "--exclude-list", str(EXCLUDE)]


def _tempest_env(work: Path) -> Mapping[str, str]:
    # Nothing of the caller's OpenStack or Python setup may leak into Tempest.
    kept = {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k != "PYTHONPATH"}
    return {**kept, "TEMPEST_CONFIG_DIR": str(work / "etc"), "TEMPEST_CONFIG": "tempest.conf"}


def _tempest(bin_dir: Path, work: Path, args: Sequence[str], *, tee: bool) -> int:
    log = work / "tempest-run.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [str(bin_dir / "tempest"), "run", *args],
            cwd=work,
            env=dict(_tempest_env(work)),
            stdout=None if tee else out,
            stderr=subprocess.STDOUT if not tee else None,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    return done.returncode


def _last_run_csv(bin_dir: Path, work: Path) -> str:
    stream = subprocess.run(
        [str(bin_dir / "stestr"), "last", "--subunit"],
        cwd=work,
        capture_output=True,
        timeout=300,
        check=False,
    )
    if not stream.stdout:
        return "test,status,start_time,stop_time\n"
    converted = subprocess.run(
        [str(bin_dir / "subunit2csv")],
        input=stream.stdout,
        capture_output=True,
        timeout=300,
        # subunit2csv's exit code says whether a test failed: its output is what counts.
        check=False,
    )
    return converted.stdout.decode("utf-8", errors="replace")


if __name__ == "__main__":
    sys.exit(main())
