"""Fixtures of the network service tests: a migrated API database, the service, its HTTP API.

`base_url` serves the API on a loopback uvicorn server, for the clients.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.api.auth import STATIC_TOKEN_ROLES, authenticate
from offpath.api.errors import HttpFault
from offpath.api.network_v2 import NETWORK_PREFIX, network_router
from offpath.api.policy import Policy, default_policy
from offpath.db.engine import open_engine
from offpath.db.schema_version import SchemaKind, sync
from offpath.network.client import NeutronClient
from offpath.network.embedded import embedded_network_service
from offpath.network.nova_notifier import ServerEvent
from offpath.network.service import NetworkService
from offpath.rpc.context import RequestContext
from tests.network.server import serving

TOKEN = "secret-token"
ADMIN_HEADERS = {"X-Auth-Token": TOKEN}
PF_MACS = ("52:54:00:1e:59:01", "52:54:00:1e:59:02")
SERIAL = "MT2113X00000"


class RecordingSink:
    """An EventSink that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[ServerEvent] = []
        self._lock = threading.Lock()

    def notify(self, events: Sequence[ServerEvent]) -> None:
        with self._lock:
            self.events.extend(events)


@pytest.fixture(scope="session")
def migrated_api_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An API database file migrated once; tests work on copies (a migration takes ~0.5 s)."""
    path = tmp_path_factory.mktemp("template") / "api.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    sync(engine, SchemaKind.API)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def api_engine(tmp_path: Path, migrated_api_database: Path) -> Iterator[Engine]:
    """A migrated SQLite API database of the test's own."""
    shutil.copyfile(migrated_api_database, tmp_path / "api.sqlite")
    engine = open_engine(f"sqlite:///{tmp_path / 'api.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture
def events() -> RecordingSink:
    """The events the service posted."""
    return RecordingSink()


@pytest.fixture
def service(api_engine: Engine, events: RecordingSink) -> NetworkService:
    """The embedded network service (dpu-sim and sriov-nic drivers)."""
    return embedded_network_service(api_engine, events=events)


def token_holder(
    x_auth_token: Annotated[str | None, Header()] = None,
    x_project_id: Annotated[str | None, Header()] = None,
    x_roles: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """The caller as the API's `authenticate` makes it: the token's holder is every persona.

    `X-Roles` (tests only) narrows the holder to those roles, to act as a
    project's reader or member.
    """
    if x_auth_token != TOKEN:
        raise HttpFault(401, "The request you have made requires authentication.")
    roles = STATIC_TOKEN_ROLES if x_roles is None else tuple(x_roles.split(","))
    return RequestContext(
        project_id=x_project_id or "admin", roles=roles, is_admin="admin" in roles
    )


def network_app(service: NetworkService, *, policy: Policy | None = None) -> FastAPI:
    """A bare app with the network router mounted as the API mounts it, callers by token."""
    app = FastAPI()
    router = network_router(lambda: service, policy=policy or default_policy())
    app.include_router(router, prefix=NETWORK_PREFIX)
    app.dependency_overrides[authenticate] = token_holder
    return app


@pytest.fixture
def http(service: NetworkService) -> TestClient:
    """A TestClient on the network API, sending the admin token."""
    return TestClient(network_app(service), headers=ADMIN_HEADERS)


def full_profile(**changes: Any) -> dict[str, Any]:
    """A remote-managed profile as Nova writes it for VF 3 of the card's second PF."""
    profile: dict[str, Any] = {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": "0000:82:00.4",
        "physical_network": None,
        "card_serial_number": SERIAL,
        "pf_mac_address": PF_MACS[1],
        "vf_num": 3,
    }
    profile.update(changes)
    return profile


@pytest.fixture
def base_url(service: NetworkService) -> Iterator[str]:
    """The network service on a loopback uvicorn server."""
    with serving(network_app(service)) as url:
        yield url


@pytest.fixture
def admin(base_url: str) -> Iterator[NeutronClient]:
    """A client with the admin token."""
    client = NeutronClient(f"{base_url}/network", token=TOKEN)
    yield client
    client.close()


@pytest.fixture
def http_admin(base_url: str) -> Iterator[httpx.Client]:
    """Plain HTTP requests to set up data, on the same server."""
    with httpx.Client(base_url=base_url, headers={"X-Auth-Token": TOKEN}) as client:
        yield client
