"""The chassis registry: DPUs as OVN's Southbound `Chassis` table knows them.

A DPU registers its hostname and `ovn-cms-options` carrying
`card-serial-number=<serial>`; a bind finds it by the EXACT item
`card-serial-number=<serial>` of that comma-separated list, without
trimming spaces, as Neutron does. A chassis is alive while it is up and
its heartbeat is younger than the down time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.db.network_schema import ChassisRow
from offpath.errors import ChassisNotFound
from offpath.jsonvalue import JsonValue
from offpath.network.records import Chassis

CMS_OPTIONS: Final = "ovn-cms-options"
BRIDGE_MAPPINGS: Final = "ovn-bridge-mappings"
DATAPATH_TYPE: Final = "datapath-type"
SERIAL_KEY: Final = "card-serial-number"
MAX_HOSTNAME: Final = 255
# Neutron's default `agent_down_time`.
DEFAULT_DOWN_TIME: Final = timedelta(seconds=75)


def serial_item(serial: str) -> str:
    """The `ovn-cms-options` item that names a card serial."""
    return f"{SERIAL_KEY}={serial}"


def has_serial(chassis: Chassis, serial: str) -> bool:
    """True when one item of the chassis' `ovn-cms-options` is exactly the serial's item."""
    return serial_item(serial) in chassis.cms_options.split(",")


class ChassisView(Protocol):
    """Where the network service reads chassis: its own registry, or OVN's Southbound."""

    def all(self) -> list[Chassis]:
        """Every chassis, in the order a serial lookup scans them."""
        ...

    def get(self, hostname: str) -> Chassis:
        """One chassis; ChassisNotFound when none has that hostname."""
        ...

    def alive(self, chassis: Chassis) -> bool:
        """True while the chassis' agent lives."""
        ...

    def by_serial(self, serial: str) -> list[Chassis]:
        """The chassis whose `ovn-cms-options` hold exactly `card-serial-number=<serial>`."""
        ...


def _record(row: ChassisRow) -> Chassis:
    return Chassis(
        hostname=row.hostname,
        other_config=dict(row.other_config),
        pf_macs=tuple(str(mac) for mac in row.pf_macs),
        vfs=row.vfs,
        up=row.up,
        heartbeat_at=row.heartbeat_at,
    )


def _row(session: Session, hostname: str) -> ChassisRow:
    if len(hostname) > MAX_HOSTNAME or "\x00" in hostname:
        raise ChassisNotFound(hostname)
    row = session.scalars(select(ChassisRow).where(ChassisRow.hostname == hostname)).first()
    if row is None:
        raise ChassisNotFound(hostname)
    return row


class ChassisRegistry:
    """Chassis records in the API database; a chassis is dead `down_time` after its heartbeat."""

    def __init__(self, engine: Engine, *, down_time: timedelta = DEFAULT_DOWN_TIME) -> None:
        self.engine = engine
        self.down_time = down_time

    def alive(self, chassis: Chassis) -> bool:
        """True while the chassis is up and its heartbeat recent."""
        return chassis.alive(now=utcnow(), down_time=self.down_time)

    def register(
        self,
        hostname: str,
        *,
        serial: str,
        pf_macs: Sequence[str],
        vfs: int,
        physnets: Sequence[str] = (),
        cms_options: Sequence[str] = (),
        datapath_type: str = "",
    ) -> Chassis:
        """Register (or re-register, as on a restart) a DPU's chassis; it is up and seen now."""
        other_config: dict[str, JsonValue] = {
            CMS_OPTIONS: ",".join([serial_item(serial), *cms_options]),
            BRIDGE_MAPPINGS: ",".join(f"{physnet}:br-{physnet}" for physnet in physnets),
            DATAPATH_TYPE: datapath_type,
        }
        with writing(self.engine) as session:
            row = session.scalars(select(ChassisRow).where(ChassisRow.hostname == hostname)).first()
            if row is None:
                row = ChassisRow(hostname=hostname)
                session.add(row)
            row.other_config = other_config
            row.pf_macs = list(pf_macs)
            row.vfs = vfs
            row.up = True
            row.heartbeat_at = utcnow()
            session.flush()
            return _record(row)

    def all(self) -> list[Chassis]:
        """Every chassis, in registration order (the order a serial lookup scans)."""
        with reading(self.engine) as session:
            return [_record(row) for row in session.scalars(select(ChassisRow).order_by("id"))]

    def get(self, hostname: str) -> Chassis:
        """One chassis; ChassisNotFound when none has that hostname."""
        with reading(self.engine) as session:
            return _record(_row(session, hostname))

    def set_up(self, hostname: str, *, up: bool) -> Chassis:
        """Stop the heartbeat (`up` false, the chassis dies) or beat once (`up` true)."""
        with writing(self.engine) as session:
            row = _row(session, hostname)
            row.up = up
            if up:
                row.heartbeat_at = utcnow()
            return _record(row)

    def by_serial(self, serial: str) -> list[Chassis]:
        """The chassis whose `ovn-cms-options` hold exactly `card-serial-number=<serial>`."""
        return [chassis for chassis in self.all() if has_serial(chassis, serial)]
