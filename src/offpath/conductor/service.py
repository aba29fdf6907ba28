"""A conductor process: serves the `conductor` topic for the one cell it belongs to.

As in Nova, a conductor writes its cell's database (`[database] connection`)
and listens on that cell's transport; it finds its cell's name in the API
database, records its own service and heartbeats like any other.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from offpath.conductor.agent_endpoints import AgentEndpoints
from offpath.conductor.build_outcome import fail_builds_on_down_hosts, free_claims_of_deleted
from offpath.conductor.rpcapi import TOPIC
from offpath.db.cells import Cell, list_cells
from offpath.db.engine import open_engine, reading, redacted, writing
from offpath.db.schema_version import SchemaKind, require
from offpath.db.services import heartbeat, register_service
from offpath.errors import CellNotFound, OffpathError
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.service_config import ServiceConfig
from offpath.version import CONDUCTOR_BINARY, SERVICE_VERSION

LOG = logging.getLogger(__name__)


def served_cell(config: ServiceConfig) -> Cell:
    """The registered cell whose database is this conductor's `[database] connection`."""
    api = open_engine(config.api_database_url)
    try:
        with reading(api) as session:
            cells = list_cells(session)
    finally:
        api.dispose()
    for cell in cells:
        if cell.database_url == config.cell_database_url:
            return cell
    raise CellNotFound(redacted(config.cell_database_url))


def run_conductor(config: ServiceConfig, *, stop: threading.Event, rpc: Rpc | None = None) -> None:
    """Serve agents until `stop` is set; heartbeat this conductor's own service meanwhile.

    A given `rpc` (the embedded cloud shares one per cell) stays open.
    """
    cell = served_cell(config)
    engine = open_engine(config.cell_database_url)
    owns_rpc = rpc is None
    server: RpcServer | None = None
    try:
        require(engine, SchemaKind.CELL)
        with writing(engine) as session:
            register_service(
                session,
                host=config.host,
                binary=CONDUCTOR_BINARY,
                topic=TOPIC,
                version=SERVICE_VERSION,
            )
        if rpc is None:
            rpc = Rpc(
                config.transport_url,
                config_files=config.files,
                call_timeout=config.rpc_response_timeout,
            )
        server = RpcServer(rpc, TOPIC, [AgentEndpoints(engine, cell=cell.name)], server=config.host)
        server.start()
        LOG.info("conductor on %s serves cell %s", config.host, cell.name)
        while not stop.wait(config.report_interval):
            try:
                with writing(engine) as session:
                    heartbeat(session, host=config.host, binary=CONDUCTOR_BINARY)
            except OffpathError as exc:
                LOG.warning("conductor heartbeat not written: [%s] %s", exc.code, exc.message)
            try:
                # An agent killed mid-build never reports: its builds end here.
                fail_builds_on_down_hosts(engine, service_down_time=config.service_down_time)
                # A delete cut short between its teardown and its free left these held.
                free_claims_of_deleted(
                    engine, older_than=timedelta(seconds=config.service_down_time)
                )
            except OffpathError as exc:
                LOG.warning("building instances not checked: [%s] %s", exc.code, exc.message)
    finally:
        if server is not None:
            server.stop(timeout=1.0)
        if rpc is not None and owns_rpc:
            rpc.close(timeout=1.0)
        engine.dispose()
        LOG.info("conductor on %s stopped", config.host)
