"""A simulated DPU on OVN: what ovn-controller and its `representor` plug provider do there.

There is no DPU here, no OVS datapath and no devlink, so this plays the
DPU's side against a real Southbound database, named as a simulation. It
registers its `Chassis` (with `card-serial-number=<serial>` in
`other_config:ovn-cms-options`, its bridge mappings and an `Encap`) and its
`Chassis_Private`, and answers each new `SB_Global.nb_cfg` as
ovn-controller does, which keeps it alive in Neutron's eyes. For each
`Port_Binding` whose `requested_chassis` is itself and whose options ask
for a representor, it resolves (PF MAC, VF number) against the card it
plays and, on a hit, claims the binding (`chassis`, `up`), as
ovn-controller does once the representor is plugged; a miss leaves the
binding unclaimed and logs why, as the provider does. As ovn-controller,
it unplugs when the binding goes or is requested on another chassis, and
refuses to change a plugged port to another representor. As ovn-controller
does by default, it replicates only the bindings requested on it or claimed
by it, not every chassis' bindings.

`go_down` stops it answering (its heartbeat stops) without removing its
rows, as a crashed ovn-controller; `stop` removes them, as a clean exit.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final

from offpath.errors import InvalidInput
from offpath.network.chassis import BRIDGE_MAPPINGS, CMS_OPTIONS, DATAPATH_TYPE, serial_item
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.connection import OvnDatabase, open_southbound, optional_value
from offpath.network.remote_managed_binding import (
    PF_MAC,
    REPRESENTOR,
    REQUESTED_CHASSIS,
    VF_NUM,
    VIF_PLUG_TYPE,
)
from offpath.sim.dpu import SimDpu

LOG = logging.getLogger(__name__)

SIM_TABLES: Final = ("SB_Global", "Chassis", "Chassis_Private", "Encap", "Port_Binding")
# ovn-controller says it sets Port_Binding.up itself; without it, ovn-northd takes a
# claimed binding (chassis set) as up before the port is ready.
PORT_UP_NOTIF: Final = "port-up-notif"
# What `_on_binding` reads of a binding.
BINDING_COLUMNS: Final = ("logical_port", "requested_chassis", "options", "chassis", "up")


def loopback_address(name: str) -> str:
    """A 127/8 address of its own for a chassis' tunnel endpoint (OVN wants them distinct)."""
    digest = hashlib.sha256(name.encode()).digest()
    return f"127.{digest[0]}.{digest[1]}.{digest[2] or 1}"


def _now_ms() -> int:
    return int(time.time() * 1000)


class SimOvnController:
    """One simulated DPU's ovn-controller; `start()` registers it, `stop()` removes it."""

    def __init__(
        self,
        sb_connection: str,
        dpu: SimDpu,
        *,
        name: str | None = None,
        physnets: Sequence[str] = (),
        cms_options: Sequence[str] = (),
        encap_ip: str | None = None,
        timeout: int = 30,
    ) -> None:
        if not dpu.serial:
            raise InvalidInput(
                f"simulated DPU {dpu.hostname} has no card serial: no chassis can name it",
                hint="give it one with --serial",
            )
        self.config = OvnConfig(nb_connection="", sb_connection=sb_connection, timeout=timeout)
        self.dpu = dpu
        self.serial = dpu.serial
        self.name = name or dpu.hostname
        self.physnets = tuple(physnets)
        self.cms_options = tuple(cms_options)
        self.encap_ip = encap_ip or loopback_address(self.name)
        self._sb: OvnDatabase | None = None
        self._up = threading.Event()
        self._lock = threading.Lock()
        # port id -> representor this DPU plugged for it
        self.plugged: dict[str, str] = {}

    @property
    def sb(self) -> OvnDatabase:
        """The Southbound connection (after `start`)."""
        assert self._sb is not None, "SimOvnController.start() first"
        return self._sb

    @property
    def up(self) -> bool:
        """True while it answers (its heartbeat runs) and plugs."""
        return self._up.is_set()

    def start(self) -> None:
        """Connect, register the chassis (again, after a restart) and begin answering."""
        self._sb = open_southbound(self.config, SIM_TABLES, self._conditions())
        self._register()
        chassis = self.sb.row("Chassis", self.name, ("name",))
        if chassis is not None:
            self.sb.monitor("Port_Binding", self._binding_condition(chassis.uuid))
        self._up.set()
        self.sb.watch("SB_Global", self._on_global, ())
        self.sb.watch("Port_Binding", self._on_binding, BINDING_COLUMNS)
        # Bindings requested before it started (or while it was down) are plugged now.
        for row in self.sb.rows("Port_Binding"):
            self._on_binding("create", row, None)

    def go_down(self) -> None:
        """Stop answering and plugging, leaving its rows: it dies, as far as OVN can tell."""
        self._up.clear()
        LOG.info("simulated DPU %s: ovn-controller stopped answering", self.name)

    def come_back(self) -> None:
        """Answer and plug again, as a restarted ovn-controller."""
        self._up.set()
        LOG.info("simulated DPU %s: ovn-controller answers again", self.name)
        self._heartbeat()
        for row in self.sb.rows("Port_Binding"):
            self._on_binding("create", row, None)

    def stop(self, *, remove: bool = True) -> None:
        """Stop; remove its Chassis and Chassis_Private rows unless `remove` is false."""
        self._up.clear()
        if self._sb is None:
            return
        if remove:
            try:
                # ovsdbapp deletes the Chassis_Private and Encap rows with the Chassis.
                self.sb.execute([self.sb.api.chassis_del(self.name, if_exists=True)])
            except Exception as exc:  # stopping must not fail on an unreachable server
                LOG.warning("simulated DPU %s: could not remove its chassis: %s", self.name, exc)
        self._sb.close()
        self._sb = None

    # -- what it replicates ---------------------------------------------------------

    def _binding_condition(self, chassis: uuid.UUID | None = None) -> list[Any]:
        """The bindings requested on this chassis, and once registered, those it claimed."""
        names = dict.fromkeys((self.name, self.dpu.hostname))
        clauses: list[Any] = [
            ["options", "includes", ["map", [[REQUESTED_CHASSIS, name]]]] for name in names
        ]
        if chassis is not None:
            reference = ["uuid", str(chassis)]
            clauses += [["requested_chassis", "==", reference], ["chassis", "==", reference]]
        return clauses

    def _conditions(self) -> dict[str, list[Any]]:
        # As ovn-controller (ovn-monitor-all false): its own bindings, not every
        # chassis' (with every DPU a replica of every binding, the DPUs' CPU grows
        # as DPUs x ports); its own Chassis_Private, not every heartbeat.
        return {
            "Port_Binding": self._binding_condition(),
            "Chassis_Private": [["name", "==", self.name]],
        }

    # -- registration and heartbeat ------------------------------------------------

    def _other_config(self) -> dict[str, str]:
        return {
            CMS_OPTIONS: ",".join([serial_item(self.serial), *self.cms_options]),
            BRIDGE_MAPPINGS: ",".join(f"{physnet}:br-{physnet}" for physnet in self.physnets),
            DATAPATH_TYPE: "system",
            PORT_UP_NOTIF: "true",
        }

    def _nb_cfg(self) -> int:
        rows = self.sb.rows("SB_Global")
        return int(rows[0].nb_cfg) if rows else 0

    def _register(self) -> None:
        api = self.sb.api
        other = self._other_config()
        if self.sb.row("Chassis", self.name) is None:
            self.sb.execute(
                [
                    api.chassis_add(
                        self.name,
                        ["geneve"],
                        self.encap_ip,
                        hostname=self.dpu.hostname,
                        other_config=other,
                    )
                ]
            )
        else:
            self.sb.execute(
                [
                    api.db_set(
                        "Chassis",
                        self.name,
                        ("hostname", self.dpu.hostname),
                        ("other_config", other),
                    )
                ]
            )
        chassis = self.sb.row("Chassis", self.name)
        assert chassis is not None
        private = self.sb.row("Chassis_Private", self.name)
        values = {
            "chassis": chassis.uuid,
            "nb_cfg": self._nb_cfg(),
            "nb_cfg_timestamp": _now_ms(),
        }
        # ovsdbapp leaves the Encap's chassis_name empty; ovn-controller names itself there.
        commands = [
            api.db_set("Encap", encap.uuid, ("chassis_name", self.name)) for encap in chassis.encaps
        ]
        if private is None:
            commands.append(api.db_create("Chassis_Private", name=self.name, **values))
        else:
            commands.append(api.db_set("Chassis_Private", private.uuid, *values.items()))
        self.sb.execute(commands)
        LOG.info(
            "simulated DPU %s: chassis registered, %s",
            self.name,
            serial_item(self.serial),
        )

    def _heartbeat(self) -> None:
        private = self.sb.row("Chassis_Private", self.name)
        if private is None:
            return
        self.sb.execute(
            [
                self.sb.api.db_set(
                    "Chassis_Private",
                    private.uuid,
                    ("nb_cfg", self._nb_cfg()),
                    ("nb_cfg_timestamp", _now_ms()),
                )
            ]
        )

    def _on_global(self, event: str, _row: Any, old: Any) -> None:
        if not self.up or event == "delete":
            return
        if event == "update" and not hasattr(old, "nb_cfg"):
            return
        self._heartbeat()

    # -- plugging ------------------------------------------------------------------

    def _on_binding(self, event: str, row: Any, _old: Any) -> None:
        if not self.up:
            return
        port = str(row.logical_port)
        with self._lock:
            if event == "delete":
                self._unplug(port, "its Port_Binding was deleted")
                return
            requested = optional_value(row.requested_chassis)
            mine = requested is not None and requested.name == self.name
            if not mine:
                # As ovn-controller: a withdrawn request (no requested chassis) is no
                # unplug trigger (ovn-org/ovn#312); a request for another chassis is.
                if port in self.plugged and requested is not None:
                    self._release(row, f"it is requested on {requested.name}")
                return
            options = dict(row.options)
            if options.get(VIF_PLUG_TYPE) != REPRESENTOR:
                return
            self._plug(row, port, options)

    def _plug(self, row: Any, port: str, options: dict[str, str]) -> None:
        pf_mac, vf_text = options.get(PF_MAC, ""), options.get(VF_NUM, "")
        if not vf_text.isdigit():
            LOG.info(
                "simulated DPU %s: not plugging lport %s: vf-num %r is not a number",
                self.name,
                port,
                vf_text,
            )
            return
        result = self.dpu.plug(port, pf_mac, int(vf_text))
        if result.representor is None:
            LOG.info("simulated DPU %s: %s", self.name, result.reason)
            return
        held = self.plugged.get(port)
        if held is not None and held != result.representor:
            LOG.warning(
                "simulated DPU %s: Attempt of incompatible change to existing port detected, "
                "please recreate port: lport %s has %s plugged, now asks for %s",
                self.name,
                port,
                held,
                result.representor,
            )
            return
        claimed = optional_value(row.chassis)
        ours = claimed is not None and claimed.name == self.name
        if held == result.representor and ours and list(row.up) == [True]:
            return
        self.plugged[port] = result.representor
        chassis = self.sb.row("Chassis", self.name)
        if chassis is None:
            return
        self.sb.execute(
            [
                self.sb.api.db_set(
                    "Port_Binding", row.uuid, ("chassis", chassis.uuid), ("up", [True])
                )
            ]
        )
        LOG.info(
            "simulated DPU %s: plugged representor %s (pf-mac %s, vf-num %s) for lport %s "
            "and claimed it",
            self.name,
            result.representor,
            pf_mac,
            vf_text,
            port,
        )

    def _release(self, row: Any, why: str) -> None:
        port = str(row.logical_port)
        claimed = optional_value(row.chassis)
        if claimed is not None and claimed.name == self.name:
            self.sb.execute(
                [self.sb.api.db_set("Port_Binding", row.uuid, ("chassis", []), ("up", [False]))]
            )
        self._unplug(port, why)

    def _unplug(self, port: str, why: str) -> None:
        representor = self.plugged.pop(port, None)
        if representor is not None:
            LOG.info(
                "simulated DPU %s: unplugged representor %s of lport %s: %s",
                self.name,
                representor,
                port,
                why,
            )
