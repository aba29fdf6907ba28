"""Which VF representor is plugged for which port, on which DPU: the plugs a DPU made.

One port per representor and one representor per port, enforced by unique
constraints, so two API workers never plug one VF twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from offpath.db.engine import reading, writing
from offpath.db.network_schema import RepresentorPlugRow


@dataclass(frozen=True, slots=True)
class RepresentorPlug:
    """A representor plugged on a chassis for a port."""

    chassis: str
    pf_mac: str
    vf_num: int
    port_id: str
    representor: str


def _record(row: RepresentorPlugRow) -> RepresentorPlug:
    return RepresentorPlug(row.chassis, row.pf_mac, row.vf_num, row.port_id, row.representor)


class RepresentorPlugs:
    """Representor plugs in the API database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, plug: RepresentorPlug) -> RepresentorPlug | None:
        """Record `plug`; the plug already holding its representor or port when one does."""
        try:
            with writing(self.engine) as session:
                session.add(
                    RepresentorPlugRow(
                        chassis=plug.chassis,
                        pf_mac=plug.pf_mac,
                        vf_num=plug.vf_num,
                        port_id=plug.port_id,
                        representor=plug.representor,
                    )
                )
        except IntegrityError:
            return self.holder(plug)
        return None

    def holder(self, plug: RepresentorPlug) -> RepresentorPlug | None:
        """The plug already holding `plug`'s representor or port, if any."""
        with reading(self.engine) as session:
            row = session.scalars(
                select(RepresentorPlugRow).where(
                    (RepresentorPlugRow.port_id == plug.port_id)
                    | (
                        (RepresentorPlugRow.chassis == plug.chassis)
                        & (RepresentorPlugRow.pf_mac == plug.pf_mac)
                        & (RepresentorPlugRow.vf_num == plug.vf_num)
                    )
                )
            ).first()
            return None if row is None else _record(row)

    def of_port(self, port_id: str) -> RepresentorPlug | None:
        """The representor plugged for `port_id`, if any."""
        with reading(self.engine) as session:
            row = session.scalars(
                select(RepresentorPlugRow).where(RepresentorPlugRow.port_id == port_id)
            ).first()
            return None if row is None else _record(row)

    def all(self, *, chassis: str | None = None) -> list[RepresentorPlug]:
        """Every plug, or a chassis' plugs."""
        query = select(RepresentorPlugRow).order_by(RepresentorPlugRow.id)
        if chassis is not None:
            query = query.where(RepresentorPlugRow.chassis == chassis)
        with reading(self.engine) as session:
            return [_record(row) for row in session.scalars(query)]

    def remove(self, port_id: str) -> RepresentorPlug | None:
        """Unplug the representor of `port_id`; what was plugged, if anything."""
        with writing(self.engine) as session:
            row = session.scalars(
                select(RepresentorPlugRow).where(RepresentorPlugRow.port_id == port_id)
            ).first()
            if row is None:
                return None
            found = _record(row)
            session.execute(delete(RepresentorPlugRow).where(RepresentorPlugRow.id == row.id))
            return found
