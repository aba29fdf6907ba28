"""What a host's agent asks the conductor of its cell, over the `conductor` topic.

Agents never open a database: they register, heartbeat, report their
inventory and the end of each build through these calls, and the
conductor writes the cell database. Versions: 1.0 registers, heartbeats
and takes inventories; 1.1 takes build results.
"""

from __future__ import annotations

from typing import Final, TypeVar

from offpath.compute.build_result import BuildResult
from offpath.errors import RpcRemoteError
from offpath.pci.host_report import HostReport
from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.transport import Rpc

TOPIC: Final = "conductor"

T = TypeVar("T")


class ConductorAPI:
    """The agents' client of the conductor: one method per remote call."""

    VERSION = "1.1"

    def __init__(self, rpc: Rpc) -> None:
        self._client = RpcClient(rpc, TOPIC, version=self.VERSION)

    def register_service(
        self,
        ctx: RequestContext,
        *,
        host: str,
        binary: str,
        version: int,
        timeout: float | None = None,
    ) -> str:
        """Call: record the service (or its new version); the name of the cell it belongs to."""
        answer = self._client.call(
            ctx,
            "register_service",
            {"host": host, "binary": binary, "version": version},
            timeout=timeout,
        )
        return _expect(answer, str, "register_service")

    def heartbeat(self, ctx: RequestContext, *, host: str, binary: str) -> None:
        """Cast: the service is alive."""
        self._client.cast(ctx, "heartbeat", {"host": host, "binary": binary})

    def report_inventory(self, ctx: RequestContext, report: HostReport) -> int:
        """Call: replace the host's inventory with `report`; the host's new generation."""
        answer = self._client.call(ctx, "report_inventory", {"report": report.to_primitive()})
        return _expect(answer, int, "report_inventory")

    def build_finished(self, ctx: RequestContext, result: BuildResult) -> bool:
        """Call: record how a build ended; False when the instance is no longer wanted."""
        answer = self._client.call(
            ctx, "build_finished", {"result": result.to_primitive()}, version="1.1"
        )
        if not isinstance(answer, bool):
            raise RpcRemoteError(
                TOPIC,
                "build_finished",
                error_type="UnexpectedAnswer",
                detail=f"expected bool, got {type(answer).__name__}",
                remote_code=None,
            )
        return answer


def _expect(answer: object, kind: type[T], method: str) -> T:
    if isinstance(answer, kind) and not isinstance(answer, bool):
        return answer
    raise RpcRemoteError(
        TOPIC,
        method,
        error_type="UnexpectedAnswer",
        detail=f"expected {kind.__name__}, got {type(answer).__name__}",
        remote_code=None,
    )
