"""The conductor's side of ConductorAPI: what agents report, written to the cell it serves.

As in Nova, a conductor serves one cell: it writes that cell's database
(`[database] connection`) and listens on that cell's transport.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import oslo_messaging
from sqlalchemy import Engine

from offpath.compute.build_result import BuildResult
from offpath.compute.rpcapi import TOPIC as COMPUTE_TOPIC
from offpath.conductor.build_outcome import fail_builds_of_restarted_host, record_build_result
from offpath.conductor.rpcapi import ConductorAPI
from offpath.db.engine import writing
from offpath.db.inventory import report_inventory
from offpath.db.services import heartbeat, register_service
from offpath.errors import OffpathError, PrimitiveInvalid
from offpath.pci.host_report import HostReport
from offpath.rpc.context import RequestContext
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

_TOPICS: Final = {COMPUTE_BINARY: COMPUTE_TOPIC}


class AgentEndpoints:
    """Register, heartbeat, inventory, build results: each one transaction on the cell database."""

    target = oslo_messaging.Target(version=ConductorAPI.VERSION)

    def __init__(self, engine: Engine, *, cell: str) -> None:
        self._engine = engine
        self._cell = cell

    def register_service(
        self, ctx: RequestContext, host: object, binary: object, version: object
    ) -> str:
        """Record the service, or its new version after a restart; the cell's name."""
        with _expected(ctx, "register_service"):
            name, kind = _name(host, "host"), _name(binary, "binary")
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise PrimitiveInvalid("register_service", "version must be an integer >= 0")
            with writing(self._engine) as session:
                register_service(
                    session, host=name, binary=kind, topic=_TOPICS.get(kind), version=version
                )
                if kind == COMPUTE_BINARY:
                    fail_builds_of_restarted_host(session, name)
            LOG.info("%s on %s registered at version %d [%s]", kind, name, version, ctx.request_id)
            return self._cell

    def heartbeat(self, ctx: RequestContext, host: object, binary: object) -> None:
        """Record that the service is alive; one warning if it never registered."""
        with _expected(ctx, "heartbeat"):
            name, kind = _name(host, "host"), _name(binary, "binary")
            with writing(self._engine) as session:
                known = heartbeat(session, host=name, binary=kind)
            if not known:
                LOG.warning("heartbeat from unregistered %s on %s ignored", kind, name)

    def report_inventory(self, ctx: RequestContext, report: object) -> int:
        """Replace the host's inventory with the report; the host's new generation."""
        with _expected(ctx, "report_inventory"):
            parsed = HostReport.from_primitive(report)
            outcome = report_inventory(self._engine, parsed)
            changed = outcome.added or outcome.updated or outcome.removed or outcome.missing
            # Every agent reports every period; only a change is news.
            LOG.log(
                logging.INFO if changed else logging.DEBUG,
                "inventory of %s: %d devices, +%d ~%d -%d, generation %d [%s]",
                parsed.host,
                len(parsed.devices),
                outcome.added,
                outcome.updated,
                outcome.removed,
                outcome.generation,
                ctx.request_id,
            )
            return outcome.generation

    def build_finished(self, ctx: RequestContext, result: object) -> bool:
        """Record how a build ended; False when the instance no longer waits for it."""
        with _expected(ctx, "build_finished"):
            return record_build_result(self._engine, BuildResult.from_primitive(result))


def _name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise PrimitiveInvalid("service", f"{field} must be a non-empty string")
    return value


@contextmanager
def _expected(ctx: RequestContext, method: str) -> Iterator[None]:
    """An offpath error goes back to the caller and into the log as one line, no traceback."""
    try:
        yield
    except OffpathError as exc:
        LOG.warning("%s refused: [%s] %s [%s]", method, exc.code, exc.message, ctx.request_id)
        raise oslo_messaging.ExpectedException() from exc
