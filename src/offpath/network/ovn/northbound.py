"""Writes networks and ports to OVN's Northbound database, as ML2/OVN's post-commit hooks do.

Each write sets a row whole from `logical_ports` (the options map
included, so an option no longer computed disappears; a switch's localnet
ports too), in one transaction. `external_ids` keys outside `neutron:`
(an operator's) are kept.

Where offpath differs from ML2/OVN: when a remote-managed port's plug
request is withdrawn (unbind), ovn-controller keeps the representor
plugged and the binding claimed (ovn-org/ovn#312), so a later bind of the
same port to the same DPU would never see the port come up again. offpath
deletes the port's row, waits for northd to drop its Southbound binding
(which makes ovn-controller unplug), and creates the row again without
the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Final

from ovs.db.data import Atom
from ovsdbapp.backend.ovs_idl import command, idlutils

from offpath.network.mirror import PortWrite
from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.logical_ports import (
    LOCALNET,
    NEUTRON_KEY_PREFIX,
    PortSpec,
    SwitchSpec,
    port_spec,
    switch_name,
    switch_spec,
)
from offpath.network.records import NetworkRecord
from offpath.network.remote_managed_binding import VIF_PLUG_TYPE

LOG = logging.getLogger(__name__)

SWITCH: Final = "Logical_Switch"
PORT: Final = "Logical_Switch_Port"
# How long an unbind waits for northd to drop the port's Southbound binding.
UNPLUG_TIMEOUT: Final = 5.0
POLL: Final = 0.01


def _find(api: Any, table: str, name: str) -> Any | None:
    try:
        return api.lookup(table, name)
    except idlutils.RowNotFound:
        return None


def _lists(switch: Any, port: Any) -> bool:
    """True when `switch` has `port` among its ports.

    Reading `switch.ports` makes and sorts a Row per port, milliseconds at a
    thousand ports on every port write; the committed column answers in one
    lookup, unless this transaction changed it.
    """
    committed = switch._data
    touched = "ports" in switch._changes or any(
        "ports" in columns for columns in switch._mutations.values()
    )
    if committed is None or touched or "ports" not in committed:
        return port in switch.ports
    ports = committed["ports"]
    return Atom(ports.type.key.type, port.uuid) in ports


def _merged_ids(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in current.items() if not k.startswith(NEUTRON_KEY_PREFIX)}
    return {**kept, **wanted}


class _SetSwitch(command.BaseCommand):  # type: ignore[misc]
    """Create or update a switch and its localnet ports."""

    def __init__(self, api: Any, spec: SwitchSpec) -> None:
        super().__init__(api)
        self.spec = spec

    def run_idl(self, txn: Any) -> None:
        switch = _find(self.api, SWITCH, self.spec.name)
        if switch is None:
            switch = txn.insert(self.api.tables[SWITCH])
            switch.name = self.spec.name
            switch.external_ids = dict(self.spec.external_ids)
        else:
            switch.external_ids = _merged_ids(switch.external_ids, self.spec.external_ids)
            # The switch is written whole: a localnet port of no segment of the network goes.
            wanted = {localnet.name for localnet in self.spec.localnets}
            for port in list(switch.ports):
                if port.type == LOCALNET and port.name not in wanted:
                    switch.delvalue("ports", port)
                    port.delete()
        for localnet in self.spec.localnets:
            _set_port(self.api, txn, localnet, switch)


def _set_port(api: Any, txn: Any, spec: PortSpec, switch: Any) -> None:
    row = _find(api, PORT, spec.name)
    if row is None:
        row = txn.insert(api.tables[PORT])
        row.name = spec.name
        switch.addvalue("ports", row)
        row.external_ids = dict(spec.external_ids)
    else:
        if not _lists(switch, row):
            for other in api.tables[SWITCH].rows.values():
                if _lists(other, row):
                    other.delvalue("ports", row)
            switch.addvalue("ports", row)
        row.external_ids = _merged_ids(row.external_ids, spec.external_ids)
    row.type = spec.type
    row.addresses = list(spec.addresses)
    row.port_security = list(spec.port_security)
    row.enabled = [spec.enabled]
    row.options = dict(spec.options)
    row.tag_request = [] if spec.tag is None else [spec.tag]
    if spec.tag is not None:
        row.tag = [spec.tag]


class _SetPort(command.BaseCommand):  # type: ignore[misc]
    """Create or update a port on its switch (created, empty, if missing)."""

    def __init__(self, api: Any, spec: PortSpec, switch_ids: Mapping[str, str]) -> None:
        super().__init__(api)
        self.spec = spec
        self.switch_ids = switch_ids

    def run_idl(self, txn: Any) -> None:
        switch = _find(self.api, SWITCH, self.spec.switch)
        if switch is None:
            switch = txn.insert(self.api.tables[SWITCH])
            switch.name = self.spec.switch
            switch.external_ids = dict(self.switch_ids)
        _set_port(self.api, txn, self.spec, switch)


class _DeleteRow(command.BaseCommand):  # type: ignore[misc]
    """Delete a switch (with its ports) or a port, if it exists."""

    def __init__(self, api: Any, table: str, name: str) -> None:
        super().__init__(api)
        self.table = table
        self.name = name

    def run_idl(self, txn: Any) -> None:
        row = _find(self.api, self.table, self.name)
        if row is None:
            return
        if self.table == SWITCH:
            for port in row.ports:
                port.delete()
        else:
            for switch in self.api.tables[SWITCH].rows.values():
                if _lists(switch, row):
                    switch.delvalue("ports", row)
        row.delete()


class OvnNorthbound:
    """The network service's networks and ports, written to the Northbound database."""

    def __init__(self, nb: OvnDatabase, sb: OvnDatabase) -> None:
        self.nb = nb
        self.sb = sb

    def network_written(self, network: NetworkRecord) -> None:
        """Create or update the network's switch and localnet ports."""
        self.nb.execute([_SetSwitch(self.nb.api, switch_spec(network))])

    def network_deleted(self, network_id: str) -> None:
        """Delete the network's switch, with every port left on it."""
        self.nb.execute([_DeleteRow(self.nb.api, SWITCH, switch_name(network_id))])

    def port_written(self, write: PortWrite) -> None:
        """Write the port's row whole; unplug first when its plug request is withdrawn."""
        spec = port_spec(write)
        switch = switch_spec(write.network)
        if VIF_PLUG_TYPE not in spec.options:
            # Only a write without a plug request can withdraw one: a bind does not
            # wait for the IDL (busy with other writes) to read the row.
            current = self.nb.row(PORT, spec.name, ("options",))
            if current is not None and VIF_PLUG_TYPE in current.options:
                self._unplug(spec.name)
        self.nb.execute(
            [_SetSwitch(self.nb.api, switch), _SetPort(self.nb.api, spec, switch.external_ids)]
        )

    def port_deleted(self, port_id: str) -> None:
        """Delete the port's row (ovn-controller unplugs the representor)."""
        self.nb.execute([_DeleteRow(self.nb.api, PORT, port_id)])

    def _unplug(self, port_id: str) -> None:
        """Delete the port's row and wait, bounded, until its Southbound binding is gone."""
        self.nb.execute([_DeleteRow(self.nb.api, PORT, port_id)])
        deadline = time.monotonic() + UNPLUG_TIMEOUT
        while self.sb.row("Port_Binding", port_id, ("logical_port",)) is not None:
            if time.monotonic() > deadline:
                LOG.warning(
                    "the Southbound binding of port %s outlived its Northbound row by %.0f s "
                    "(is ovn-northd running?); its representor may stay plugged",
                    port_id,
                    UNPLUG_TIMEOUT,
                )
                return
            time.sleep(POLL)
