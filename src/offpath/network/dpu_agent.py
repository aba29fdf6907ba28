"""A simulated DPU's agent: registers the DPU's chassis with the network service, keeps it alive.

On a real DPU, ovn-controller writes the chassis (with `ovn-cms-options`
naming the card serial) into OVN's Southbound database and keeps its
`nb_cfg` current. Here the agent does the same through the network
service's offpath extension: `POST /network/offpath/chassis` once, then
`PUT .../chassis/<hostname> {"up": true}` every `interval` seconds, so the
chassis stays alive; stopping it lets the chassis die after the down time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import httpx

from offpath.errors import InvalidInput, NetworkServiceUnavailable
from offpath.service_token import TokenAuth, TokenSource, token_source
from offpath.sim.dpu import SimDpu

LOG = logging.getLogger(__name__)
DEFAULT_INTERVAL = 10.0


class DpuAgent:
    """Registers one simulated DPU's chassis over HTTP and beats its heartbeat in a thread."""

    def __init__(
        self,
        endpoint: str,
        dpu: SimDpu,
        *,
        token: str | TokenSource,
        physnets: Sequence[str] = (),
        interval: float = DEFAULT_INTERVAL,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not dpu.serial:
            raise InvalidInput(
                f"simulated DPU {dpu.hostname} has no card serial: no chassis can name it",
                hint="give the card a VPD serial (the profile's vpd.serial_prefix)",
            )
        self.endpoint = endpoint.rstrip("/")
        self.dpu = dpu
        self.physnets = tuple(physnets)
        self.interval = interval
        self._client = httpx.Client(
            base_url=self.endpoint,
            auth=TokenAuth(token_source(token)),
            timeout=timeout,
            transport=transport,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """Register (or re-register) the chassis; NetworkServiceUnavailable when that fails."""
        body = {
            "hostname": self.dpu.hostname,
            "serial": self.dpu.serial,
            "pf_macs": list(self.dpu.pf_macs),
            "vfs": self.dpu.vfs,
            "physnets": list(self.physnets),
        }
        self._send("POST", "/offpath/chassis", body)

    def beat(self) -> None:
        """One heartbeat; NetworkServiceUnavailable when the service does not take it."""
        self._send("PUT", f"/offpath/chassis/{quote(self.dpu.hostname, safe='')}", {"up": True})

    def start(self) -> None:
        """Register now, then beat every `interval` seconds in a daemon thread until `stop`."""
        self.register()
        self._thread = threading.Thread(
            target=self._run, name=f"dpu-agent-{self.dpu.hostname}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the chassis dies after the down time) and close the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except NetworkServiceUnavailable as exc:
                # A missed beat is retried at the next interval, as ovn-controller would.
                LOG.warning("simulated DPU %s: heartbeat failed: %s", self.dpu.hostname, exc)

    def _send(self, method: str, path: str, body: Mapping[str, object]) -> None:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise NetworkServiceUnavailable(self.endpoint, f"{method} {path}: {exc}") from None
        if response.status_code >= 300:
            raise NetworkServiceUnavailable(
                self.endpoint,
                f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}",
            )
