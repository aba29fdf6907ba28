"""What each host's SR-IOV NIC agent reports: the physnets its VFs reach."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.db.network_schema import SriovHostRow


class SriovHosts:
    """SR-IOV NIC agent mappings (host -> physnets) in the API database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def report(self, host: str, physnets: Sequence[str]) -> None:
        """Record the physnets `host`'s VFs reach (replacing what it reported before)."""
        with writing(self.engine) as session:
            row = session.get(SriovHostRow, host)
            if row is None:
                row = SriovHostRow(host=host)
                session.add(row)
            row.physnets = list(dict.fromkeys(physnets))
            row.updated_at = utcnow()

    def physnets(self, host: str) -> tuple[str, ...] | None:
        """The physnets `host` reported; None when it has no SR-IOV NIC agent."""
        with reading(self.engine) as session:
            row = session.get(SriovHostRow, host)
            return None if row is None else tuple(str(p) for p in row.physnets)
