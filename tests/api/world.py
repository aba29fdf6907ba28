"""An API worker over a test deployment: databases, simulated hosts, ports held as records."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from offpath.api.app import create_app
from offpath.api.auth import authenticate
from offpath.api.deps import ApiDeps, Deps
from offpath.api.policy import Policy, default_policy
from offpath.db.engine import writing
from offpath.db.flavors import FlavorRecord, create_flavor, list_flavors
from offpath.ports.port import FixedIp, Port
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext
from tests.control.cluster import NETWORK, Cluster

TOKEN = "test-token"
PROJECT = "demo"


@dataclass
class RecordingForwarder:
    """Records the events the API forwards to each host's agent."""

    sent: list[tuple[str, str, list[dict[str, object]]]] = field(default_factory=list)

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: list[dict[str, object]],
    ) -> None:
        self.sent.append((host, instance_uuid, events))


@dataclass
class World:
    """A deployment with an API app over it."""

    cluster: Cluster
    events: RecordingForwarder
    app: FastAPI

    def client(self, *, project: str = PROJECT, roles: str | None = None) -> TestClient:
        """A client that sends the token and `project`; with `roles` (a,b), only those roles."""
        headers = {"X-Auth-Token": TOKEN, "X-Project-Id": project}
        if roles is not None:
            headers["X-Roles"] = roles
        return TestClient(self.app, headers=headers, raise_server_exceptions=False)

    def port(self, vnic_type: VnicType = VnicType.REMOTE_MANAGED, *, project: str = PROJECT) -> str:
        """A port on the test network owned by `project`; its id."""
        port_id = str(uuid.uuid4())
        self.cluster.ports.ports[port_id] = Port(
            port_id,
            NETWORK.id,
            vnic_type=vnic_type,
            project_id=project,
            mac_address="fa:16:3e:00:00:01",
            fixed_ips=(FixedIp("subnet-1", "10.0.0.5"),),
        )
        return port_id

    def bind(self, port_id: str, server_id: str, host: str) -> None:
        """Do what the agent's bind does to a port record."""
        port = self.cluster.ports.ports[port_id]
        self.cluster.ports.ports[port_id] = Port(
            port.id,
            port.network_id,
            vnic_type=port.vnic_type,
            project_id=port.project_id,
            device_id=server_id,
            binding_host_id=host,
            status="ACTIVE",
            mac_address=port.mac_address,
            fixed_ips=port.fixed_ips,
        )

    def flavor(self, name: str = "m1.small", **extra_specs: str) -> str:
        """The flavor of that name in the API database (created on first use); its id."""
        with writing(self.cluster.cells.api) as session:
            for known in list_flavors(session, is_public=None):
                if known.name == name:
                    return known.flavorid
            flavor_id = str(uuid.uuid4())
            create_flavor(
                session,
                FlavorRecord(flavor_id, name, vcpus=1, memory_mb=512, extra_specs=extra_specs),
            )
        return flavor_id


def narrowed(request: Request, deps: Deps) -> RequestContext:
    """`authenticate`'s caller, narrowed to the roles of the test-only `X-Roles` header.

    A test-only `X-User-Id` names the user, as a Keystone token would.
    """
    ctx = authenticate(request, deps)
    user = request.headers.get("x-user-id")
    if user is not None:
        ctx = replace(ctx, user_id=user)
    header = request.headers.get("x-roles")
    if header is None:
        return ctx
    roles = tuple(role for role in header.split(",") if role)
    return replace(ctx, roles=roles, is_admin="admin" in roles)


def world_of(cluster: Cluster, *, policy: Policy | None = None) -> World:
    """An API app over `cluster` (the default rules unless `policy`)."""
    events = RecordingForwarder()
    deps = ApiDeps(
        cells=cluster.cells,
        conductor=cluster.conductor,
        scheduler=cluster.scheduler,
        ports=cluster.ports,
        events=events,
        auth_token=TOKEN,
        default_project=PROJECT,
        policy=policy or default_policy(),
    )
    app = create_app(deps)
    app.dependency_overrides[authenticate] = narrowed
    return World(cluster, events, app)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port; its base URL. Stopped on exit."""
    # IPPROTO_TCP: asyncio turns Nagle off only then (else ~40 ms per keep-alive response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
