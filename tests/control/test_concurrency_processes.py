"""400 boots from 4 conductor processes at once against 300 VFs, on the server backends.

Threads in one process share the scheduler's picture of the hosts; processes
do not, so only the database's conditional claims keep a VF from being
allocated twice. Each worker (tests/control/boot_worker.py) builds its own
engines, cells, host cache, scheduler and conductor from the same config
file, and the outcome is read back from the databases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from offpath.db.api_schema import CellRow, InstanceMappingRow
from offpath.db.cell_schema import (
    ComputeNodeRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstancePciRequestRow,
    InstanceRow,
    PciDeviceRow,
)
from offpath.db.engine import reading
from offpath.pci.claims import DeviceStatus
from offpath.sim.fleet import fleet_reports
from tests.control.boot_worker import Boot, Job
from tests.control.cluster import Cluster
from tests.control.conftest import deployment

BOOTS = 400
HOSTS = 75  # x 1 PF x 4 VFs = 300 remote-managed VFs
PROCESSES = 4
THREADS = 4  # per process: 16 boots in flight, as in the thread test
READY_TIMEOUT = 30.0
RUN_TIMEOUT = 90.0
REPO = Path(__file__).resolve().parents[2]
IDS = uuid.UUID("6f1c0a52-4d1e-4f0c-9a51-3c2b8e0d7a10")


def _ids(kind: str) -> list[str]:
    """BOOTS deterministic ids, so every process names the same ports and instances."""
    return [str(uuid.uuid5(IDS, f"{kind}-{index}")) for index in range(BOOTS)]


@dataclass(frozen=True)
class Deployment:
    """A synced deployment on a server backend and the config file its processes read."""

    config_file: Path
    cluster: Cluster


@pytest.fixture(params=("postgresql", "mariadb"))
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """75 hosts x 1 PF x 4 VFs reported, their compute services registered."""
    with deployment(str(request.param), tmp_path) as (config, cluster):
        cluster.report(fleet_reports(HOSTS, pfs=1, vfs=4))
        yield Deployment(config.files[0], cluster)


class Workers:
    """Worker processes started at once, released round by round, stopped by PID."""

    def __init__(self, root: Path, config_file: Path, shares: Sequence[list[list[Boot]]]) -> None:
        root.mkdir()
        self.root = root
        self.jobs: list[Job] = []
        self.popens: list[subprocess.Popen[bytes]] = []
        for index, rounds in enumerate(shares):
            job = Job(
                config=str(config_file),
                index=index,
                threads=THREADS,
                rounds=rounds,
                work_dir=str(root),
                go_timeout=READY_TIMEOUT + RUN_TIMEOUT,
            )
            job.write(root / f"job-{index}.json")
            self.jobs.append(job)

    def __enter__(self) -> Workers:
        try:
            for job in self.jobs:
                with self.log(job.index).open("wb") as out:
                    self.popens.append(
                        subprocess.Popen(
                            [
                                *(sys.executable, "-m", "tests.control.boot_worker"),
                                str(self.root / f"job-{job.index}.json"),
                            ],
                            cwd=REPO,
                            stdin=subprocess.DEVNULL,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
        except BaseException:
            self.__exit__()
            raise
        return self

    def log(self, index: int) -> Path:
        return self.root / f"worker-{index}.log"

    def logs(self) -> str:
        return "\n".join(
            f"--- worker {job.index} (pid {popen.pid}, exit {popen.poll()})\n"
            + self.log(job.index).read_text(errors="replace")[-4000:]
            for job, popen in zip(self.jobs, self.popens, strict=False)
        )

    def _wait_for(self, paths: Sequence[Path], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not all(path.exists() for path in paths):
            assert all(p.poll() is None for p in self.popens), f"a worker ended\n{self.logs()}"
            assert time.monotonic() < deadline, f"not within {timeout} s: {what}\n{self.logs()}"
            time.sleep(0.02)

    def boot_round(self, round_: int) -> list[dict[str, object]]:
        """Release round `round_` in every worker at once; every answer of the round."""
        self._wait_for([job.ready for job in self.jobs], READY_TIMEOUT, "workers ready")
        self.jobs[0].go(round_).touch()
        outs = [job.out(round_) for job in self.jobs]
        self._wait_for(outs, RUN_TIMEOUT, f"round {round_} booted")
        return [answer for out in outs for answer in json.loads(out.read_text())]

    def join(self) -> None:
        """Wait for every worker to end (bounded) and check that each ended well."""
        for popen in self.popens:
            try:
                popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"a worker did not end\n{self.logs()}") from None
        assert [p.returncode for p in self.popens] == [0] * len(self.popens), self.logs()

    def __exit__(self, *_: object) -> None:
        for popen in self.popens:
            if popen.poll() is None:
                os.kill(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)


@dataclass(frozen=True)
class Outcome:
    """What the databases hold after the boots, every list sorted."""

    # (host, address, dev_type, status, instance uuid)
    devices: list[tuple[str, str, str, str, str | None]]
    # (cell, uuid, vm_state, host)
    instances: list[tuple[str, str, str, str | None]]
    # (cell, instance uuid, message)
    faults: list[tuple[str, str, str]]
    # (cell, instance uuid) per PCI request and per action
    pci_requests: list[tuple[str, str]]
    actions: list[tuple[str, str, str]]
    # (instance uuid, cell)
    mappings: list[tuple[str, str | None]]


def read_outcome(cluster: Cluster) -> Outcome:
    """Every row the boots wrote, from the API database, cell0 and cell1."""
    cells = cluster.cells
    instances: list[tuple[str, str, str, str | None]] = []
    faults: list[tuple[str, str, str]] = []
    pci_requests: list[tuple[str, str]] = []
    actions: list[tuple[str, str, str]] = []
    devices: list[tuple[str, str, str, str, str | None]] = []
    for cell in cells.cells():
        with reading(cells.engine(cell)) as session:
            instances += [
                (cell.name, r.uuid, r.vm_state, r.host)
                for r in session.scalars(select(InstanceRow))
            ]
            faults += [
                (cell.name, r.instance_uuid, r.message)
                for r in session.scalars(select(InstanceFaultRow))
            ]
            pci_requests += [
                (cell.name, r.instance_uuid) for r in session.scalars(select(InstancePciRequestRow))
            ]
            actions += [
                (cell.name, r.instance_uuid, r.action)
                for r in session.scalars(select(InstanceActionRow))
            ]
            devices += [
                (host, d.address, d.dev_type, d.status, d.instance_uuid)
                for host, d in session.execute(
                    select(ComputeNodeRow.host, PciDeviceRow).join(
                        ComputeNodeRow, PciDeviceRow.compute_node_id == ComputeNodeRow.id
                    )
                )
            ]
    with reading(cells.api) as session:
        mappings = [
            (instance, name)
            for instance, name in session.execute(
                select(InstanceMappingRow.instance_uuid, CellRow.name).outerjoin(
                    CellRow, InstanceMappingRow.cell_id == CellRow.id
                )
            )
        ]
    return Outcome(
        sorted(devices),
        sorted(instances, key=lambda i: (i[0], i[1])),
        sorted(faults),
        sorted(pci_requests),
        sorted(actions),
        sorted(mappings, key=lambda m: m[0]),
    )


def test_400_boots_from_4_processes_get_the_300_vfs_once_each(
    fleet: Deployment, tmp_path: Path
) -> None:
    boots = list(zip(_ids("instance"), _ids("port"), strict=True))
    shares = [boots[index::PROCESSES] for index in range(PROCESSES)]
    # The second round retries every boot from another process than the first.
    rounds = [[shares[i], shares[(i + 1) % PROCESSES]] for i in range(PROCESSES)]
    with Workers(tmp_path / "workers", fleet.config_file, rounds) as workers:
        answers = workers.boot_round(0)
        outcome = read_outcome(fleet.cluster)
        check_outcome(outcome, answers, {uuid_ for uuid_, _ in boots})
        again = workers.boot_round(1)
        workers.join()
    assert read_outcome(fleet.cluster) == outcome
    assert sorted(again, key=_uuid) == sorted(answers, key=_uuid)


def _uuid(answer: dict[str, object]) -> str:
    return str(answer["uuid"])


def check_outcome(outcome: Outcome, answers: list[dict[str, object]], uuids: set[str]) -> None:
    """300 built with one VF each, 100 in cell0 with Nova's fault, nothing claimed twice."""
    assert Counter(str(a["vm_state"]) for a in answers) == {"building": 300, "error": 100}
    instances = {uuid_: (cell, state) for cell, uuid_, state, _ in outcome.instances}
    assert set(instances) == uuids
    built = {uuid_ for uuid_, (_, state) in instances.items() if state == "building"}
    failed = uuids - built
    assert len(built) == 300
    assert {instances[uuid_][0] for uuid_ in built} == {"cell1"}
    assert {instances[uuid_] for uuid_ in failed} == {("cell0", "error")}
    assert dict(outcome.mappings) == {uuid_: cell for uuid_, (cell, _) in instances.items()}
    # Every failure has one clean fault, Nova's; nothing else has one.
    fault_of = {uuid_: message for _, uuid_, message in outcome.faults}
    assert len(outcome.faults) == len(fault_of) == 100
    assert set(fault_of) == failed
    assert all(m.startswith("No valid host was found.") for m in fault_of.values())
    # Each VF claimed at most once, by an instance that built; each built one holds one VF.
    owners = Counter(d[4] for d in outcome.devices if d[4] is not None)
    assert set(owners) == built
    assert set(owners.values()) == {1}
    vfs = [d for d in outcome.devices if d[2] == "type-VF"]
    assert len(vfs) == 300
    assert {d[3] for d in vfs} == {DeviceStatus.CLAIMED}
    # A PF never serves while one of its VFs does; no failed boot holds anything.
    pfs = [d for d in outcome.devices if d[2] == "type-PF"]
    assert len(pfs) == HOSTS
    assert {(d[3], d[4]) for d in pfs} == {(DeviceStatus.UNCLAIMABLE, None)}
    assert not failed & set(owners)
    assert {uuid_ for _, uuid_ in outcome.pci_requests} == built
    assert Counter(uuid_ for _, uuid_, _ in outcome.actions) == dict.fromkeys(uuids, 1)
