"""The compute topic's server side on one host: what the conductor (and the API) may cast to it.

Only these methods are reachable over RPC. The three casts hand their
work to the `ComputeManager` and return, so the RPC server's threads never
wait on a build; `run_step` is a call: the conductor waits for the step
of a server operation it asked for.
"""

from __future__ import annotations

import time

import oslo_messaging

from offpath.compute.guest_operations import GuestOperations
from offpath.compute.manager import ComputeManager
from offpath.compute.rpcapi import ComputeAPI
from offpath.compute.step_dispatch import run_step
from offpath.jsonvalue import JsonValue
from offpath.rpc.context import RequestContext


class ComputeEndpoints:
    """`build_instance`, `terminate_instance` and `external_instance_event` for one host."""

    target = oslo_messaging.Target(version=ComputeAPI.VERSION)

    def __init__(self, manager: ComputeManager, operations: GuestOperations | None = None) -> None:
        self._manager = manager
        self._operations = operations or GuestOperations(manager)
        # Steps sent before this process started are refused (see `run_step`).
        self._started_at = time.time()

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

    def run_step(
        self, ctx: RequestContext, step: object, instance_uuid: object, args: object
    ) -> dict[str, JsonValue]:
        """Call: one step of a server operation on this host; its `StepResult`."""
        return run_step(
            self._operations, step, instance_uuid, args, started_at=self._started_at
        ).to_primitive()
