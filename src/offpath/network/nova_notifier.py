"""Events to the compute API: `network-vif-plugged` / `-unplugged`, as Neutron posts them.

`POST <compute endpoint>/os-server-external-events` with the service token,
with a bounded timeout and a few retries. A failure is logged and dropped:
an event that cannot be delivered never fails the bind that caused it (the
compute side times out waiting, as it would with Neutron).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from offpath.jsonvalue import JsonValue
from offpath.service_token import TokenAuth, TokenSource, token_source

LOG = logging.getLogger(__name__)

VIF_PLUGGED: Final = "network-vif-plugged"
VIF_UNPLUGGED: Final = "network-vif-unplugged"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One external event for a server: its name, the server, the port (tag), the status."""

    name: str
    server_uuid: str
    tag: str
    status: str = "completed"

    def to_json(self) -> dict[str, JsonValue]:
        """The event as the compute API's `events` list holds it."""
        return {
            "name": self.name,
            "server_uuid": self.server_uuid,
            "tag": self.tag,
            "status": self.status,
        }


class EventSink(Protocol):
    """Where the network service sends server events."""

    def notify(self, events: Sequence[ServerEvent]) -> None:
        """Deliver `events`; never raises."""
        ...


class NovaNotifier:
    """Posts server events to a compute API's `os-server-external-events`."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | TokenSource,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = endpoint.rstrip("/") + "/os-server-external-events"
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._client = httpx.Client(
            auth=TokenAuth(token_source(token)), timeout=timeout, transport=transport
        )

    def notify(self, events: Sequence[ServerEvent]) -> None:
        """Post `events` in one request, retrying transport errors and 5xx; log what fails."""
        if not events:
            return
        body = {"events": [event.to_json() for event in events]}
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * attempt)
            try:
                response = self._client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code not in (200, 207):
                LOG.warning(
                    "compute API refused events %s: HTTP %s %s",
                    body,
                    response.status_code,
                    response.text[:200],
                )
            return
        LOG.warning(
            "events %s not delivered to %s after %d attempts: %s",
            body,
            self.url,
            self.attempts,
            problem,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
