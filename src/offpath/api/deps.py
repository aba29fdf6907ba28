"""What an API worker is built from, and how handlers reach it and the caller's context.

`ApiDeps` holds shared handles only (database engines, the conductor, the
scheduler, clients): nothing in it is state another worker needs, so any
number of workers serve the same deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request

from offpath.api.policy import Policy, default_policy
from offpath.conductor.instances import InstanceConductor
from offpath.conductor.moves import Moves
from offpath.conductor.server_actions import ServerActions
from offpath.db.cells import CellDatabases
from offpath.identity.authentication import TokenService
from offpath.network.chassis import ChassisView
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.rpc.context import RequestContext
from offpath.scheduler.scheduler import Scheduler


class PortsClient(Protocol):
    """Reads of the network service the compute API needs; NeutronClient is one."""

    def show_port(self, port_id: str) -> Port:
        """The port; PortNotFound when there is none."""
        ...

    def show_network(self, network_id: str) -> Network:
        """The network; NetworkNotFound when there is none."""
        ...

    def list_ports(self, *, device_id: str) -> list[Port]:
        """The ports whose device_id is `device_id`."""
        ...

    def find_security_group(self, name_or_id: str, *, project_id: str) -> str | None:
        """The id of the project's security group of that id or name; None if it has none.

        SecurityGroupNameAmbiguous when several of its groups have that name (Nova's 409).
        """
        ...

    def security_group_names(self, group_ids: Sequence[str]) -> dict[str, str]:
        """The names of the security groups of `group_ids`, in one request."""
        ...

    def set_port_security_groups(self, port_id: str, group_ids: Sequence[str]) -> Port:
        """Make `group_ids` the port's security groups."""
        ...


class EventForwarder(Protocol):
    """Hands external events to the agent of the host that runs the server."""

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: list[dict[str, object]],
    ) -> None:
        """Cast the server's events to `host`'s agent."""
        ...


@dataclass
class ApiDeps:
    """The handles one API worker serves with."""

    cells: CellDatabases
    conductor: InstanceConductor
    scheduler: Scheduler
    ports: PortsClient
    events: EventForwarder
    # Keystone tokens: issued by /identity/v3/auth/tokens, checked on every request.
    tokens: TokenService | None = None
    # The opt-in static token (admin in every project); empty: none.
    auth_token: str = ""
    default_project: str = "admin"
    # Base URL for links in documents; empty: the request's own scheme and host.
    public_endpoint: str = ""
    extra_routers: Sequence[tuple[str, APIRouter]] = field(default_factory=tuple)
    # Where `/offpath/v1/chassis` reads DPU chassis: OVN's Southbound when the network
    # service binds through OVN; None: the simulated DPUs' registry in the API database.
    chassis: ChassisView | None = None
    # Server actions and moves (stop/start, attach, migrate, ...), run on the hosts' agents.
    actions: ServerActions | None = None
    moves: Moves | None = None
    # Who may do what: the rules' defaults, with the operator's policy file when one is read.
    policy: Policy = field(default_factory=default_policy)


def get_deps(request: Request) -> ApiDeps:
    """The worker's `ApiDeps` (set by `create_app`)."""
    deps: ApiDeps = request.app.state.deps
    return deps


Deps = Annotated[ApiDeps, Depends(get_deps)]


def base_url(request: Request, deps: ApiDeps) -> str:
    """Where clients reach this API: the configured public endpoint, else the request's host."""
    if deps.public_endpoint:
        return deps.public_endpoint.rstrip("/")
    return str(request.base_url).rstrip("/")
