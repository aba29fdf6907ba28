"""The compute topic's server side on one host: what the conductor (and the API) may cast to it.

Only these three methods are reachable over RPC; each hands its work to
the `ComputeManager` and returns, so the RPC server's threads never wait
on a build.
"""

from __future__ import annotations

import oslo_messaging

from offpath.compute.manager import ComputeManager
from offpath.compute.rpcapi import ComputeAPI
from offpath.rpc.context import RequestContext


class ComputeEndpoints:
    """`build_instance`, `terminate_instance` and `external_instance_event` for one host."""

    target = oslo_messaging.Target(version=ComputeAPI.VERSION)

    def __init__(self, manager: ComputeManager) -> None:
        self._manager = manager

    def build_instance(self, ctx: RequestContext, build: object) -> None:
        """Cast: build the instance, then report ACTIVE or ERROR to the conductor."""
        self._manager.submit_build(ctx, build)

    def terminate_instance(self, ctx: RequestContext, instance_uuid: object) -> None:
        """Cast: destroy the guest, unplug and unbind its ports; an unknown one is no error."""
        self._manager.submit_terminate(ctx, instance_uuid)

    def external_instance_event(
        self, ctx: RequestContext, instance_uuid: object, events: object
    ) -> None:
        """Cast: events (`network-vif-plugged`, ...) about one of this host's instances."""
        self._manager.deliver_events(ctx, instance_uuid, events)
