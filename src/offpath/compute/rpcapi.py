"""What the conductor may ask a host's agent to do, over the `compute` topic.

Versions: 1.0 builds and terminates instances; 1.1 builds with
remote-managed ports; 1.2 takes external instance events
(`network-vif-plugged`, ...) for the builds that wait for them; 1.3 runs
the steps of every other server operation, each a call answered with a
`StepResult`. The cap follows the oldest compute service of the
deployment, so a conductor never sends a message an older agent cannot
read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Final

from offpath.compute.step_result import StepResult
from offpath.errors import ComputeServiceTooOld
from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.transport import Rpc
from offpath.version import compute_rpc_cap

LOG = logging.getLogger(__name__)

TOPIC: Final = "compute"
REMOTE_MANAGED_VERSION: Final = "1.1"
EXTERNAL_EVENTS_VERSION: Final = "1.2"
OPERATIONS_VERSION: Final = "1.3"


class ComputeAPI:
    """The conductor's client of the agents: one method per remote call, the host as server."""

    VERSION = "1.3"

    def __init__(
        self, rpc: Rpc, *, minimum_service_version: int, long_timeout: float | None = None
    ) -> None:
        self.version_cap = compute_rpc_cap(minimum_service_version)
        self._client = RpcClient(rpc, TOPIC, version=self.VERSION, version_cap=self.version_cap)
        # Steps that may wait for plug events or move a guest's memory get longer.
        self.long_timeout = long_timeout

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

    def run_step(
        self,
        ctx: RequestContext,
        host: str,
        step: str,
        instance_uuid: str,
        args: Mapping[str, object] | None = None,
        *,
        long: bool = False,
    ) -> StepResult:
        """Call: `host` runs one step of a server operation and answers how it went.

        RpcTimeout when the host does not answer in time (its agent died or
        hangs); the conductor rolls back from there.
        """
        if not self._client.can_send_version(OPERATIONS_VERSION):
            raise ComputeServiceTooOld(host, step, self.version_cap or "")
        answer = self._client.call(
            ctx,
            "run_step",
            {"step": step, "instance_uuid": instance_uuid, "args": dict(args or {})},
            server=host,
            version=OPERATIONS_VERSION,
            timeout=self.long_timeout if long else None,
        )
        return StepResult.from_primitive(answer)
