"""The port status watcher: which row changes it reports, in order per port, from workers."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.port_status import PortStatusWatcher

REMOTE = {"neutron:vnic_type": "remote-managed"}


def row(name: str, *, up: bool, ids: dict[str, str] = REMOTE, kind: str = "") -> Any:
    return SimpleNamespace(name=name, type=kind, external_ids=ids, up=[up], enabled=[True])


class Sink:
    """Records what it is told; fails for the ports it is asked to."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.failing = failing
        self._lock = threading.Lock()

    def _note(self, port_id: str, state: str) -> None:
        if port_id in self.failing:
            raise RuntimeError(f"cannot report {port_id}")
        with self._lock:
            self.seen.append((port_id, state, threading.current_thread().name))

    def port_up(self, port_id: str) -> None:
        time.sleep(0.001)  # long enough for the workers to interleave
        self._note(port_id, "up")

    def port_down(self, port_id: str) -> None:
        self._note(port_id, "down")


def test_each_port_keeps_its_order_and_stays_on_one_worker() -> None:
    sink = Sink()
    watcher = PortStatusWatcher(sink, workers=3)
    ports = [f"port-{i}" for i in range(12)]
    for flip in range(6):
        for port in ports:
            watcher.changed("update", row(port, up=flip % 2 == 0), SimpleNamespace(up=[]))
    watcher.stop()
    for port in ports:
        mine = [(state, thread) for seen, state, thread in sink.seen if seen == port]
        assert [state for state, _ in mine] == ["up", "down"] * 3
        assert len({thread for _, thread in mine}) == 1
    assert len({thread for *_, thread in sink.seen}) > 1


def test_only_state_changes_of_remote_managed_vif_rows_are_reported() -> None:
    sink = Sink()
    watcher = PortStatusWatcher(sink, workers=2)
    watcher.changed("create", row("a", up=False), None)
    watcher.changed("update", row("b", up=True), SimpleNamespace(options={}))  # not up/enabled
    watcher.changed("update", row("c", up=True), SimpleNamespace(enabled=[]))
    watcher.changed("delete", row("d", up=False), None)
    watcher.changed("create", row("e", up=True, ids={"neutron:vnic_type": "normal"}), None)
    watcher.changed("create", row("f", up=True, kind="localnet"), None)
    watcher.stop()
    assert sorted((port, state) for port, state, _ in sink.seen) == [("a", "down"), ("c", "up")]


def test_a_failing_report_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(failing=frozenset({"bad"}))
    watcher = PortStatusWatcher(sink, workers=1)
    watcher.changed("create", row("bad", up=True), None)
    watcher.changed("create", row("good", up=True), None)
    watcher.stop()
    assert [(port, state) for port, state, _ in sink.seen] == [("good", "up")]
    assert "reporting port bad up failed" in caplog.text


class Northbound:
    """The Logical_Switch_Port rows a watcher reads, by name."""

    def __init__(self, *rows: Any) -> None:
        self.rows = {r.name: r for r in rows}

    def row(self, table: str, name: str, columns: Any = None) -> Any:
        assert table == "Logical_Switch_Port"
        return self.rows.get(name)


def binding(port: str, *, chassis: str | None, up: bool = True) -> Any:
    claimer = [] if chassis is None else [SimpleNamespace(name=chassis, hostname=chassis)]
    return SimpleNamespace(logical_port=port, chassis=claimer, up=[up])


def test_a_claim_moving_to_another_chassis_while_the_port_stays_up_is_reported() -> None:
    sink = Sink()
    nb = Northbound(row("moved", up=True), row("down", up=False), row("same", up=True))
    watcher = PortStatusWatcher(sink, workers=1, nb=cast(OvnDatabase, nb))
    moved = SimpleNamespace(chassis=[SimpleNamespace(name="dpu-1")])
    watcher.claimed("update", binding("moved", chassis="dpu-2"), moved)
    # The LSP is not up yet: its own change will say so.
    watcher.claimed("update", binding("down", chassis="dpu-2"), moved)
    # Released, not claimed; or claimed but not up; or no change of hands.
    watcher.claimed("update", binding("same", chassis=None), moved)
    watcher.claimed("update", binding("same", chassis="dpu-2", up=False), moved)
    watcher.claimed("update", binding("same", chassis="dpu-2"), SimpleNamespace(up=[False]))
    watcher.claimed("create", binding("same", chassis="dpu-2"), None)
    watcher.stop()
    assert [(port, state) for port, state, _ in sink.seen] == [("moved", "up")]
