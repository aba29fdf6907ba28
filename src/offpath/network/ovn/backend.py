"""The OVN backend of the network service: connections, mirror, driver, watcher, upkeep.

`OvnBackend.start` connects to both databases; `network_service` builds a
network service that writes its networks and ports to the Northbound
database, binds remote-managed ports with the `ovn` driver and SR-IOV
ports with the NIC agents' driver, and hears OVN's port ups and downs.
A background thread keeps chassis liveness measurable (`ping`) and,
as Neutron's maintenance task does, repairs drift now and then:
`backend.keep_up(repair=backend.audit(service).repair)`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from sqlalchemy import Engine

from offpath.errors import OffpathError
from offpath.network.chassis import DEFAULT_DOWN_TIME
from offpath.network.drivers.sriov_nic import SriovNicDriver
from offpath.network.nova_notifier import EventSink
from offpath.network.ovn.audit import OvnAudit
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.connection import OvnDatabase, open_northbound, open_southbound
from offpath.network.ovn.driver import OvnDriver
from offpath.network.ovn.northbound import OvnNorthbound
from offpath.network.ovn.port_status import PortStatusWatcher, watch_port_status
from offpath.network.ovn.southbound import OvnChassis
from offpath.network.service import NetworkService
from offpath.network.sriov_hosts import SriovHosts

LOG = logging.getLogger(__name__)

# Neutron's DBInconsistenciesPeriodics runs every five minutes.
DEFAULT_REPAIR_INTERVAL: Final = 300.0


class OvnBackend:
    """Start with `start()` (or `with`), stop with `stop()`; both connections close."""

    def __init__(
        self,
        config: OvnConfig,
        *,
        down_time: timedelta = DEFAULT_DOWN_TIME,
        repair_interval: float = DEFAULT_REPAIR_INTERVAL,
    ) -> None:
        self.config = config
        self.down_time = down_time
        self.repair_interval = repair_interval
        self._nb: OvnDatabase | None = None
        self._sb: OvnDatabase | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watchers: list[PortStatusWatcher] = []

    def __enter__(self) -> OvnBackend:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def nb(self) -> OvnDatabase:
        """The Northbound connection (after `start`)."""
        assert self._nb is not None, "OvnBackend.start() first"
        return self._nb

    @property
    def sb(self) -> OvnDatabase:
        """The Southbound connection (after `start`)."""
        assert self._sb is not None, "OvnBackend.start() first"
        return self._sb

    def start(self) -> None:
        """Connect to both databases; OvnUnavailable when one does not answer."""
        self._nb = open_northbound(self.config)
        try:
            self._sb = open_southbound(self.config)
        except BaseException:
            self.stop()
            raise
        self.chassis = OvnChassis(self.nb, self.sb, down_time=self.down_time)
        self.northbound = OvnNorthbound(self.nb, self.sb)
        self.driver = OvnDriver(self.chassis, self.nb)

    def network_service(
        self, engine: Engine, *, events: EventSink | None = None, hear_status: bool = True
    ) -> NetworkService:
        """A network service on `engine` that binds through this OVN, and hears its port states."""
        hosts = SriovHosts(engine)
        service = NetworkService(
            engine,
            drivers=(self.driver, SriovNicDriver(hosts)),
            events=events,
            chassis=self.chassis,
            sriov_hosts=hosts,
            mirror=self.northbound,
        )
        if hear_status:  # an audit that only reads must change no status itself
            self._watchers.append(watch_port_status(self.nb, service, sb=self.sb))
        return service

    def audit(self, service: NetworkService) -> OvnAudit:
        """The drift audit of `service` against this OVN; its `repair` is what `keep_up` runs."""
        return OvnAudit(service, nb=self.nb, sb=self.sb, chassis=self.chassis)

    def keep_up(self, repair: Callable[[], object] | None = None) -> None:
        """Ping chassis every half down time in a thread; run `repair` every repair interval."""
        interval = max(self.down_time.total_seconds() / 2, 0.5)

        def loop() -> None:
            waited = 0.0
            while not self._stop.wait(interval):
                waited += interval
                try:
                    self.chassis.ping()
                    if repair is not None and waited >= self.repair_interval:
                        waited = 0.0
                        repair()
                except OffpathError as exc:
                    LOG.warning("OVN upkeep: [%s] %s", exc.code, exc.message)
                except Exception:
                    LOG.exception("OVN upkeep failed")

        self._thread = threading.Thread(target=loop, name="ovn-upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the upkeep thread, report the queued port states, close both connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        for watcher in self._watchers:
            watcher.stop()
        self._watchers = []
        for database in (self._sb, self._nb):
            if database is not None:
                database.close()
        self._nb = self._sb = None
