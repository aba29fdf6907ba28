"""A port is up when OVN says so: `Logical_Switch_Port.up`, set by ovn-northd, watched.

northd sets `up` once the DPU's ovn-controller has claimed the port's
`Port_Binding` and marked it up (after plugging the representor). The
watcher hears every change of the Northbound IDL, never polls, and hands
ups and downs of remote-managed ports to the network service. After a
reconnect the IDL replays every row as new: the same path then catches up
with whatever changed while the connection was down.
"""

from __future__ import annotations

import logging
from typing import Any

from offpath.network.binding_driver import PortStatusSink
from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.logical_ports import VNIC_TYPE
from offpath.ports.vnic import VnicType

LOG = logging.getLogger(__name__)


def lsp_is_up(row: Any) -> bool:
    """True when the port is up (`up` true) and enabled (`enabled` unset or true)."""
    return bool(list(row.up) == [True] and list(row.enabled) in ([], [True]))


def follows_lsp_up(row: Any) -> bool:
    """True for a remote-managed VIF port: its status is OVN's `up` (a row or a PortSpec)."""
    vnic: object = row.external_ids.get(VNIC_TYPE)
    return row.type == "" and vnic == VnicType.REMOTE_MANAGED.value


def watch_port_status(nb: OvnDatabase, sink: PortStatusSink) -> None:
    """Report every up/down change of a remote-managed port's Logical_Switch_Port to `sink`."""

    def changed(event: str, row: Any, old: Any) -> None:
        if event == "delete" or not follows_lsp_up(row):
            return
        if event == "update" and not (hasattr(old, "up") or hasattr(old, "enabled")):
            return
        if lsp_is_up(row):
            LOG.debug("OVN has port %s up", row.name)
            sink.port_up(str(row.name))
        else:
            LOG.debug("OVN has port %s down", row.name)
            sink.port_down(str(row.name))

    nb.watch("Logical_Switch_Port", changed)
