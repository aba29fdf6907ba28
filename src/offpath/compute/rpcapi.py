"""What the conductor may ask a host's agent to do, over the `compute` topic.

Versions: 1.0 builds and terminates instances; 1.1 builds with
remote-managed ports. The cap follows the oldest compute service of the
deployment, so a conductor never sends a message an older agent cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.transport import Rpc
from offpath.version import compute_rpc_cap

TOPIC: Final = "compute"
REMOTE_MANAGED_VERSION: Final = "1.1"


class ComputeAPI:
    """The conductor's client of the agents: one method per remote call, the host as server."""

    VERSION = "1.1"

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
