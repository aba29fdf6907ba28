"""A port is up when OVN says so: `Logical_Switch_Port.up`, set by ovn-northd, watched.

northd sets `up` once the DPU's ovn-controller has claimed the port's
`Port_Binding` and marked it up (after plugging the representor). The
watcher hears every change of the Northbound IDL, never polls, and hands
ups and downs of remote-managed ports to the network service. After a
reconnect the IDL replays every row as new: the same path then catches up
with whatever changed while the connection was down.

A port moved to another DPU (a binding activated elsewhere) may stay `up`
throughout, when the new DPU claims it before the old one lets go: the
watcher then also hears the Southbound `Port_Binding` change hands, and
reports the port up when its new chassis claimed it, up, and the
Logical_Switch_Port is up.

The service's part (a database write, and the row written again with
`neutron:host_id`) runs on a few worker threads, each port always on the
same one, so one port's changes keep their order: as Neutron's hash ring
hands each row's events to one API worker. On the IDL's one event thread,
a burst of binds would see its ACTIVEs queue behind each other.
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from typing import Any, Final

from offpath.network.binding_driver import PortStatusSink
from offpath.network.ovn.connection import OvnDatabase, optional_value
from offpath.network.ovn.logical_ports import VNIC_TYPE
from offpath.ports.vnic import VnicType

LOG = logging.getLogger(__name__)

DEFAULT_WORKERS: Final = 4
# What `changed` reads of a row.
COLUMNS: Final = ("name", "type", "external_ids", "up", "enabled")
# What `claimed` reads of a Southbound binding.
BINDING_COLUMNS: Final = ("logical_port", "chassis", "up")
STOP_TIMEOUT: Final = 5.0


def lsp_is_up(row: Any) -> bool:
    """True when the port is up (`up` true) and enabled (`enabled` unset or true)."""
    return bool(list(row.up) == [True] and list(row.enabled) in ([], [True]))


def follows_lsp_up(row: Any) -> bool:
    """True for a remote-managed VIF port: its status is OVN's `up` (a row or a PortSpec)."""
    vnic: object = row.external_ids.get(VNIC_TYPE)
    return row.type == "" and vnic == VnicType.REMOTE_MANAGED.value


def claimed_by(sb: OvnDatabase, port_id: str, chassis: str) -> bool:
    """True when the port's Port_Binding is claimed, up, by `chassis` (its hostname or name)."""
    binding = sb.row("Port_Binding", port_id, ("chassis", "up"))
    if binding is None or list(binding.up) != [True]:
        return False
    claimer = optional_value(binding.chassis)
    return claimer is not None and chassis in (str(claimer.hostname), str(claimer.name))


class PortStatusWatcher:
    """Hands OVN's port ups and downs to the sink from worker threads; `stop()` ends them."""

    def __init__(
        self,
        sink: PortStatusSink,
        *,
        workers: int = DEFAULT_WORKERS,
        nb: OvnDatabase | None = None,
    ) -> None:
        self.sink = sink
        self.nb = nb
        self._queues: list[queue.SimpleQueue[tuple[str, bool] | None]] = [
            queue.SimpleQueue() for _ in range(max(1, workers))
        ]
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"ovn-port-status-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    def changed(self, event: str, row: Any, old: Any) -> None:
        """A Logical_Switch_Port changed (from the IDL's event thread)."""
        if event == "delete" or not follows_lsp_up(row):
            return
        if event == "update" and not (hasattr(old, "up") or hasattr(old, "enabled")):
            return
        self._report(str(row.name), up=lsp_is_up(row))

    def claimed(self, event: str, row: Any, old: Any) -> None:
        """A Southbound Port_Binding changed (from the IDL's event thread)."""
        if event != "update" or not hasattr(old, "chassis") or self.nb is None:
            return
        if optional_value(row.chassis) is None or list(row.up) != [True]:
            return
        port_id = str(row.logical_port)
        port = self.nb.row("Logical_Switch_Port", port_id, COLUMNS)
        # Claimed by a new chassis while the Logical_Switch_Port stayed up: no NB change says so.
        if port is not None and follows_lsp_up(port) and lsp_is_up(port):
            self._report(port_id, up=True)

    def _report(self, port_id: str, *, up: bool) -> None:
        self._queues[zlib.crc32(port_id.encode()) % len(self._queues)].put((port_id, up))

    def _work(self, changes: queue.SimpleQueue[tuple[str, bool] | None]) -> None:
        while (change := changes.get()) is not None:
            port_id, up = change
            try:
                if up:
                    LOG.debug("OVN has port %s up", port_id)
                    self.sink.port_up(port_id)
                else:
                    LOG.debug("OVN has port %s down", port_id)
                    self.sink.port_down(port_id)
            except Exception:  # one port's failure must not stop the others
                LOG.exception("reporting port %s %s failed", port_id, "up" if up else "down")

    def stop(self) -> None:
        """Report what is queued, then end the workers (bounded)."""
        for changes in self._queues:
            changes.put(None)
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT)
            if thread.is_alive():
                LOG.warning("%s did not stop within %.0f s", thread.name, STOP_TIMEOUT)


def watch_port_status(
    nb: OvnDatabase,
    sink: PortStatusSink,
    *,
    workers: int = DEFAULT_WORKERS,
    sb: OvnDatabase | None = None,
) -> PortStatusWatcher:
    """Report every up/down change of a remote-managed port's Logical_Switch_Port to `sink`.

    With `sb`, also a port claimed by a new chassis while it stayed up.
    """
    watcher = PortStatusWatcher(sink, workers=workers, nb=nb)
    nb.watch("Logical_Switch_Port", watcher.changed, COLUMNS)
    if sb is not None:
        sb.watch("Port_Binding", watcher.claimed, BINDING_COLUMNS)
    return watcher
