"""A conductor process of its own, for the multi-process concurrency test: boots its shares.

Run as `python -m tests.control.boot_worker JOB.json`. It builds its own
engines, cells, host cache, scheduler and conductor from the deployment's
config file and says it is ready. Then, round after round, it waits for the
round's go file (so that every worker starts booting at once), boots its
share of that round with a few threads and writes what each boot answered.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.service_config import load_service_config
from tests.control.cluster import Cluster

Boot = tuple[str, str]  # (instance uuid, port id)


@dataclass(frozen=True, slots=True)
class Job:
    """One worker's shares, a list per round; its files live in `work_dir`."""

    config: str
    index: int
    threads: int
    rounds: list[list[Boot]]
    work_dir: str
    go_timeout: float

    @property
    def ready(self) -> Path:
        """Touched once the worker may boot."""
        return Path(self.work_dir, f"ready-{self.index}")

    def go(self, round_: int) -> Path:
        """Touched by the test to start a round in every worker."""
        return Path(self.work_dir, f"go-{round_}")

    def out(self, round_: int) -> Path:
        """The answers of this worker's boots in a round, as JSON."""
        return Path(self.work_dir, f"out-{self.index}-{round_}.json")

    def write(self, path: Path) -> None:
        """Store the job for the worker to read."""
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> Job:
        """The job stored at `path`."""
        raw = json.loads(path.read_text())
        raw["rounds"] = [[(str(i), str(p)) for i, p in share] for share in raw["rounds"]]
        return cls(**raw)


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path} within {timeout} s")
        time.sleep(0.01)


def run(job: Job) -> None:
    """Boot each round's share once the test releases it; write the answers."""
    config_file = Path(job.config)
    config = load_service_config([config_file], state_dir=config_file.parent)
    cells = CellDatabases(open_engine(config.api_database_url))
    try:
        # Seeds differ, or every worker would chase the same hosts in the same order.
        cluster = Cluster(cells, service_down_time=config.service_down_time, seed=job.index + 1)
        for share in job.rounds:
            for _, port_id in share:
                cluster.port(port_id=port_id)
        cluster.cache.refresh()
        job.ready.touch()
        for round_, share in enumerate(job.rounds):
            _wait_for(job.go(round_), job.go_timeout)
            with ThreadPoolExecutor(job.threads) as pool:
                views = list(pool.map(lambda boot: cluster.boot(boot[1], uuid_=boot[0]), share))
            partial = job.out(round_).with_suffix(".partial")
            partial.write_text(json.dumps([asdict(view) for view in views]))
            # Renamed whole, so the test never reads half an answer.
            partial.rename(job.out(round_))
    finally:
        cells.dispose()


if __name__ == "__main__":
    run(Job.read(Path(sys.argv[1])))
