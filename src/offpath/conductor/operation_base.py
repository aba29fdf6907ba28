"""What every server operation shares: starting it, running a host's step, ending it well or not.

An operation starts in the request (the state check and the task state
are one conditional UPDATE, so a refusal is the API's answer), and runs
its steps on the hosts' agents in the background, each an RPC call whose
answer (or silence) is recorded as an event of the instance action. An
operation that fails ends with the instance's task state cleared, a fault
saying why, and whatever it claimed released.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from offpath.compute.step_result import StepResult
from offpath.conductor.instance_states import Started, TaskState, VmState, begin_action, end_action
from offpath.conductor.instances import InstanceConductor
from offpath.conductor.operation_log import add_event, close_action, open_action
from offpath.db.api_schema import RequestSpecRow
from offpath.db.cell_schema import InstanceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.errors import InstanceNotFound, MoveFailed, OffpathError
from offpath.rpc.context import RequestContext, new_request_id

LOG = logging.getLogger(__name__)

# How many operations a conductor runs at once.
OPERATION_WORKERS = 8
# How often a conductor waiting for a host's step checks that the host still heartbeats.
LIVENESS_POLL = 1.0


class StepRunner(Protocol):
    """How the conductor asks a host for a step; `offpath.compute.rpcapi.ComputeAPI` is one."""

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
        """Call: the host runs the step; its result (RpcTimeout when it does not answer)."""
        ...


@dataclass
class Operation:
    """One operation under way on one instance."""

    action: str
    cell: Cell
    engine: Engine
    started: Started
    action_id: int
    ctx: RequestContext
    port_ids: tuple[str, ...]
    # The vm state to go back to when the operation fails.
    fallback: VmState = field(init=False)

    def __post_init__(self) -> None:
        self.fallback = self.started.vm_state

    @property
    def uuid(self) -> str:
        """The instance's uuid."""
        return self.started.instance_uuid

    @property
    def host(self) -> str:
        """The instance's host when the operation started; MoveFailed if it had none."""
        if self.started.host is None:
            raise MoveFailed(self.action, self.uuid, "-", "the server has no host")
        return self.started.host


class OperationBase:
    """Starts, runs and ends operations over the instances' cells and the hosts' agents."""

    def __init__(
        self,
        instances: InstanceConductor,
        steps: StepRunner,
        *,
        background: bool = True,
        workers: int = OPERATION_WORKERS,
        liveness_poll: float = LIVENESS_POLL,
    ) -> None:
        self.instances = instances
        self.steps = steps
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="operation")
        # Each step's call waits in its own thread, so a dead host can be given up on.
        self._calls = ThreadPoolExecutor(workers * 2, thread_name_prefix="operation-call")
        self.liveness_poll = liveness_poll
        # False runs every operation to its end inside the request (tests, tools).
        self.background = background

    @property
    def cells(self) -> CellDatabases:
        """The cell databases."""
        return self.instances.cells

    def begin(self, instance_uuid: str, action: str, *, request_id: str | None) -> Operation:
        """Take the instance for `action` (InstanceInvalidState when its state forbids it)."""
        cell = self.instances.locate(instance_uuid)
        if cell is None:
            # Still being scheduled: no action but delete is possible yet.
            raise InstanceNotFound(instance_uuid)
        engine = self.cells.engine(cell)
        ctx = RequestContext(request_id=request_id or new_request_id())
        with writing(engine) as session:
            started = begin_action(session, instance_uuid, action)
            action_id = open_action(
                session,
                instance_uuid,
                _nova_action(action),
                request_id=ctx.request_id,
                project_id=started.project_id,
            )
        ctx = RequestContext(request_id=ctx.request_id, project_id=started.project_id)
        ports = tuple(self.instances.port_ids(instance_uuid))
        return Operation(action, cell, engine, started, action_id, ctx, ports)

    def run(self, op: Operation, work: Callable[[Operation], None]) -> Future[None] | None:
        """Run the rest of the operation (in the background unless told otherwise)."""
        if not self.background:
            self._guarded(op, work)
            return None
        return self._executor.submit(self._guarded, op, work)

    def _guarded(self, op: Operation, work: Callable[[Operation], None]) -> None:
        try:
            work(op)
        except OffpathError as exc:
            LOG.warning("%s of %s failed: [%s] %s", op.action, op.uuid, exc.code, exc.message)
            self.fail(op, exc)
        except Exception as exc:
            LOG.exception("%s of %s failed unexpectedly", op.action, op.uuid)
            self.fail(op, MoveFailed(op.action, op.uuid, "conductor", f"unexpected error: {exc}"))

    def step(
        self,
        op: Operation,
        host: str,
        step: str,
        event: str,
        args: Mapping[str, object] | None = None,
        *,
        long: bool = False,
    ) -> StepResult:
        """Ask `host` for a step and record it; MoveFailed (the host's reason) if not done."""
        try:
            result = self._await(op, host, step, args, long=long)
        except OffpathError as exc:
            add_event(op.engine, op.action_id, event, ok=False, details=exc.message)
            if isinstance(exc, MoveFailed):
                raise
            raise MoveFailed(op.action, op.uuid, host, exc.message) from exc
        add_event(op.engine, op.action_id, event, ok=result.done, details=result.details())
        if not result.done:
            raise MoveFailed(op.action, op.uuid, host, result.fault or "no reason given")
        return result

    def _await(
        self,
        op: Operation,
        host: str,
        step: str,
        args: Mapping[str, object] | None,
        *,
        long: bool,
    ) -> StepResult:
        """The step's answer; given up early once the host's compute service is down.

        A long step may wait up to `[DEFAULT] long_rpc_timeout` for its answer;
        an agent killed meanwhile would hold the operation that long. The
        host's heartbeat says sooner: silent for `service_down_time`, the
        step has failed (a late answer is dropped).
        """
        # When it was sent: an agent that restarted since will not run it (its queue kept it).
        stamped = {**(args or {}), "issued_at": time.time()}
        call = self._calls.submit(
            self.steps.run_step, op.ctx, host, step, op.uuid, stamped, long=long
        )
        while True:
            try:
                return call.result(timeout=self.liveness_poll)
            except FutureTimeout:
                if not self.instances.host_up(op.cell, host):
                    down = self.instances.service_down_time
                    raise MoveFailed(
                        op.action,
                        op.uuid,
                        host,
                        f"its compute service went down (no heartbeat for more than {down} s)",
                    ) from None

    def try_step(
        self,
        op: Operation,
        host: str,
        step: str,
        event: str,
        args: Mapping[str, object] | None = None,
    ) -> StepResult | None:
        """A step whose failure the operation survives (a cleanup); None when it failed."""
        try:
            return self.step(op, host, step, event, args)
        except MoveFailed as exc:
            LOG.warning("%s (cleanup, going on)", exc.message)
            return None

    def end(
        self,
        op: Operation,
        *,
        vm_state: VmState | None = None,
        host: str | None = None,
        clear_host: bool = False,
        task: TaskState | None = None,
        extra: Callable[[Session], None] | None = None,
    ) -> None:
        """The operation succeeded: set the new state (and `extra` in the same transaction)."""
        with writing(op.engine) as session:
            end_action(
                session, op.uuid, vm_state=vm_state, host=host, clear_host=clear_host, task=task
            )
            if extra is not None:
                extra(session)
        if task is None:
            close_action(op.engine, op.action_id, instance_uuid=op.uuid)

    def set_host(self, op: Operation, host: str | None) -> None:
        """Put the instance on `host` (None: on no host) before a step there, as Nova's claim does.

        The network's events about its ports go to the instance's host: a
        step that waits for a direct port's `network-vif-plugged` gets it
        only once the instance is on that step's host.
        """
        with writing(op.engine) as session:
            session.execute(
                update(InstanceRow)
                .where(InstanceRow.uuid == op.uuid, InstanceRow.vm_state != VmState.DELETED.value)
                .values(host=host, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def fail(self, op: Operation, error: OffpathError, *, vm_state: VmState | None = None) -> None:
        """The operation failed: back to `vm_state` (where it started by default), with a fault."""
        with writing(op.engine) as session:
            end_action(session, op.uuid, vm_state=vm_state or op.fallback)
        close_action(op.engine, op.action_id, instance_uuid=op.uuid, error=error)

    def abandon(self, op: Operation, error: OffpathError) -> None:
        """Refused before anything changed: the task state goes, the action says why, no fault."""
        with writing(op.engine) as session:
            end_action(session, op.uuid)
        close_action(op.engine, op.action_id, instance_uuid=op.uuid)
        add_event(op.engine, op.action_id, "conductor_precheck", ok=False, details=error.message)

    def update_spec(self, instance_uuid: str, **values: object) -> None:
        """Change fields of the instance's request spec (its ports, its flavor id)."""
        with writing(self.cells.api) as session:
            row = session.scalars(
                select(RequestSpecRow).where(RequestSpecRow.instance_uuid == instance_uuid)
            ).first()
            if row is None:
                return
            spec = dict(row.spec) if isinstance(row.spec, dict) else {}
            spec.update(values)
            row.spec = spec

    def request_spec(self, instance_uuid: str) -> dict[str, object]:
        """The instance's request spec as the boot recorded it."""
        with reading(self.cells.api) as session:
            spec = session.scalars(
                select(RequestSpecRow.spec).where(RequestSpecRow.instance_uuid == instance_uuid)
            ).first()
        return dict(spec) if isinstance(spec, dict) else {}

    def close(self) -> None:
        """Stop taking operations; those under way finish."""
        self._executor.shutdown(wait=False, cancel_futures=False)
        self._calls.shutdown(wait=False, cancel_futures=True)


# The action names `os-instance-actions` shows (Nova's).
_ACTION_NAMES = {
    "reboot_hard": "reboot",
    "os-migrateLive": "live-migration",
}


def _nova_action(action: str) -> str:
    return _ACTION_NAMES.get(action, action)
