"""DPU chassis as OVN's Southbound database has them, and whether their ovn-controller lives.

A chassis is written by its ovn-controller: `Chassis` with the hostname
and `other_config:ovn-cms-options` (the card serial), `Chassis_Private`
with the last `nb_cfg` it caught up with and when. As Neutron's agent
liveness: alive while `NB_Global.nb_cfg` is at most one ahead of the
chassis' `nb_cfg`, or its `nb_cfg_timestamp` is younger than the down
time. `ping` moves `NB_Global.nb_cfg` on (at most every half down time,
whoever pings, as Neutron marks it in `neutron:liveness_check_at`), so a
silent chassis falls behind and is seen dead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from offpath.errors import ChassisNotFound
from offpath.jsonvalue import JsonValue
from offpath.network.chassis import DEFAULT_DOWN_TIME, has_serial
from offpath.network.ovn.connection import OvnDatabase, optional_value
from offpath.network.records import Chassis

LIVENESS_CHECK_AT: Final = "neutron:liveness_check_at"
_EPOCH: Final = datetime.fromtimestamp(0, UTC)
# The columns a bind reads: copying whole rows cost more than the bind's database write.
CHASSIS_COLUMNS: Final = ("name", "hostname", "other_config")
PRIVATE_COLUMNS: Final = ("name", "nb_cfg", "nb_cfg_timestamp")
NB_GLOBAL_COLUMNS: Final = ("nb_cfg",)


def _unreckoned(row: Any) -> Chassis:
    """A Chassis row as a record, its liveness not yet reckoned (down, never seen)."""
    other: dict[str, JsonValue] = {str(k): str(v) for k, v in row.other_config.items()}
    return Chassis(
        hostname=str(row.hostname),
        other_config=other,
        pf_macs=(),
        vfs=0,
        up=False,
        heartbeat_at=_EPOCH,
        name=str(row.name),
    )


class OvnChassis:
    """The Southbound `Chassis` rows as chassis records; liveness as Neutron reckons it."""

    def __init__(
        self, nb: OvnDatabase, sb: OvnDatabase, *, down_time: timedelta = DEFAULT_DOWN_TIME
    ) -> None:
        self.nb = nb
        self.sb = sb
        self.down_time = down_time

    def _nb_cfg(self) -> int:
        rows = self.nb.rows("NB_Global", NB_GLOBAL_COLUMNS)
        return int(rows[0].nb_cfg) if rows else 0

    def all(self) -> list[Chassis]:
        """Every chassis, in the order a serial lookup scans them (by name)."""
        return self._alive([_unreckoned(row) for row in self._chassis_rows()])

    def get(self, hostname: str) -> Chassis:
        """One chassis by hostname; ChassisNotFound when none has it."""
        for chassis in self._chassis_rows():
            if str(chassis.hostname) == hostname:
                return self._alive([_unreckoned(chassis)])[0]
        raise ChassisNotFound(hostname)

    def by_serial(self, serial: str) -> list[Chassis]:
        """The chassis whose `ovn-cms-options` hold exactly `card-serial-number=<serial>`."""
        found = [_unreckoned(row) for row in self._chassis_rows()]
        # Liveness is reckoned for the matches only: a bind runs this on every port.
        return self._alive([chassis for chassis in found if has_serial(chassis, serial)])

    def _chassis_rows(self) -> list[Any]:
        return sorted(self.sb.rows("Chassis", CHASSIS_COLUMNS), key=lambda r: str(r.name))

    def _alive(self, found: list[Chassis]) -> list[Chassis]:
        """`found` with `up` and `heartbeat_at` as their Chassis_Private rows say now."""
        if not found:
            return found
        nb_cfg = self._nb_cfg()
        now = datetime.now(UTC)
        if len(found) == 1:
            state = self.sb.row("Chassis_Private", found[0].name, PRIVATE_COLUMNS)
            private = {} if state is None else {found[0].name: state}
        else:
            private = {
                str(row.name): row for row in self.sb.rows("Chassis_Private", PRIVATE_COLUMNS)
            }
        reckoned = []
        for chassis in found:
            state = private.get(chassis.name)
            if state is None:
                alive, seen = False, _EPOCH
            else:
                stamp = int(state.nb_cfg_timestamp or 0)
                seen = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else _EPOCH
                alive = nb_cfg - int(state.nb_cfg) <= 1 or now - seen < self.down_time
            reckoned.append(replace(chassis, up=alive, heartbeat_at=seen))
        return reckoned

    def alive(self, chassis: Chassis) -> bool:
        """True while its ovn-controller keeps up with `nb_cfg` (as reckoned when it was read)."""
        return chassis.up

    def ping(self, *, now: datetime | None = None) -> bool:
        """Move `NB_Global.nb_cfg` on, unless done within half the down time; True if moved."""
        now = now or datetime.now(UTC)
        rows = self.nb.rows("NB_Global")
        if not rows:
            return False
        (row,) = rows
        last = row.external_ids.get(LIVENESS_CHECK_AT, "")
        try:
            last_at = datetime.fromisoformat(last)
        except ValueError:
            last_at = _EPOCH
        if now - last_at < self.down_time / 2:
            return False
        self.nb.execute(
            [
                self.nb.api.db_set(
                    "NB_Global",
                    row.uuid,
                    ("nb_cfg", int(row.nb_cfg) + 1),
                    ("external_ids", {LIVENESS_CHECK_AT: now.isoformat()}),
                )
            ]
        )
        return True

    def port_binding(self, port_id: str) -> Any | None:
        """The Southbound binding of a port (a copy), or None."""
        return self.sb.row("Port_Binding", port_id)

    @staticmethod
    def chassis_name(reference: Any) -> str | None:
        """The name of the chassis an optional reference column points at, or None."""
        row = optional_value(reference)
        return None if row is None else str(row.name)
