"""What the conductor may ask a host's agent to do, over the `compute` topic.

Versions: 1.0 builds and terminates instances; 1.1 builds with
remote-managed ports; 1.2 takes external instance events
(`network-vif-plugged`, ...) for the builds that wait for them. The cap
follows the oldest compute service of the deployment, so a conductor
never sends a message an older agent cannot read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Final

from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.transport import Rpc
from offpath.version import compute_rpc_cap

LOG = logging.getLogger(__name__)

TOPIC: Final = "compute"
REMOTE_MANAGED_VERSION: Final = "1.1"
EXTERNAL_EVENTS_VERSION: Final = "1.2"


class ComputeAPI:
    """The conductor's client of the agents: one method per remote call, the host as server."""

    VERSION = "1.2"

    def __init__(self, rpc: Rpc, *, minimum_service_version: int) -> None:
        self.version_cap = compute_rpc_cap(minimum_service_version)
        self._client = RpcClient(rpc, TOPIC, version=self.VERSION, version_cap=self.version_cap)

    def build_instance(
        self,
        ctx: RequestContext,
        host: str,
        build: Mapping[str, object],
        *,
        remote_managed: bool = False,
    ) -> None:
        """Cast: `host` builds the instance and reports the outcome to the conductor."""
        # An agent capped below 1.1 cannot take a remote-managed build; the
        # conductor's version gate refuses those before any message is sent.
        version = REMOTE_MANAGED_VERSION if remote_managed else "1.0"
        self._client.cast(
            ctx, "build_instance", {"build": dict(build)}, server=host, version=version
        )

    def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        """Cast: `host` destroys the instance and releases what it held."""
        self._client.cast(
            ctx, "terminate_instance", {"instance_uuid": instance_uuid}, server=host, version="1.0"
        )

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: Sequence[Mapping[str, object]],
    ) -> None:
        """Cast: events (`{"name", "tag", "status"}`) about an instance `host` runs."""
        if not self._client.can_send_version(EXTERNAL_EVENTS_VERSION):
            # An agent that old waits for no event: there is nobody to tell.
            LOG.info(
                "events for %s not sent to %s: compute RPC capped at %s",
                instance_uuid,
                host,
                self.version_cap,
            )
            return
        self._client.cast(
            ctx,
            "external_instance_event",
            {"instance_uuid": instance_uuid, "events": [dict(event) for event in events]},
            server=host,
            version=EXTERNAL_EVENTS_VERSION,
        )
