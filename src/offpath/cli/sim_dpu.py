"""`offpath sim dpu`: a simulated DPU's ovn-controller on a Southbound database, as a process.

It runs until SIGTERM or SIGINT and then removes its chassis (unless
--keep-chassis). SIGUSR1 makes it stop answering, as a hung
ovn-controller; SIGUSR2 brings it back.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Final

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.errors import OvnUnavailable, SimOptionInvalid
from offpath.network.chassis import MAX_HOSTNAME, serial_item
from offpath.network.ovn.config import connection_problem
from offpath.sim.dpu import SimDpu, normalise_mac

if TYPE_CHECKING:
    from offpath.network.ovn.sim_controller import SimOvnController

LOG = logging.getLogger(__name__)

DEFAULT_VFS: Final = 8
DEFAULT_TIMEOUT: Final = 30
# How often the main loop looks at the stop event between liveness signals.
_POLL: Final = 0.2


def _problem(option: str, value: object, problem: str, hint: str) -> SimOptionInvalid:
    return SimOptionInvalid(option, repr(value), problem, hint=hint)


def checked_dpu(*, hostname: str, serial: str, pf_macs: Sequence[str], vfs: int) -> SimDpu:
    """The DPU these options describe; SimOptionInvalid names the first bad one."""
    if not hostname.strip() or len(hostname) > MAX_HOSTNAME:
        raise _problem(
            "--hostname",
            hostname,
            f"a chassis hostname has 1 to {MAX_HOSTNAME} characters",
            "give the DPU's host name, as its ovn-controller would report it",
        )
    if not serial.strip() or "," in serial:
        raise _problem(
            "--serial",
            serial,
            "a card serial is not empty and has no ',' (it is an item of ovn-cms-options)",
            "give the serial number from the card's VPD, e.g. MT2113X00000",
        )
    macs: list[str] = []
    for text in pf_macs:
        mac = normalise_mac(text)
        if mac is None:
            raise _problem(
                "--pf-mac",
                text,
                "is not a MAC address",
                "give six hex bytes separated by ':', e.g. 52:54:00:1e:59:01",
            )
        if mac in macs:
            raise _problem("--pf-mac", text, "is given twice", "give each PF's MAC once")
        macs.append(mac)
    if vfs < 1:
        raise _problem("--vfs", vfs, "a PF needs at least 1 VF", "give the VFs per PF, e.g. 8")
    return SimDpu(hostname, tuple(macs), vfs, serial)


def check_connection_options(
    *, sb: str, physnets: Sequence[str], encap_ip: str | None, timeout: int
) -> None:
    """Raise SimOptionInvalid for the first unusable connection or chassis option."""
    problem = connection_problem(sb)
    if problem is not None:
        raise _problem("--sb", sb, problem, "give the Southbound's remote, e.g. tcp:127.0.0.1:6642")
    for physnet in physnets:
        if not physnet or any(char in physnet for char in ",:"):
            raise _problem(
                "--physnet",
                physnet,
                "a physical network name is not empty and has no ',' or ':' "
                "(it is an item of ovn-bridge-mappings)",
                "give the physnet's name as Neutron knows it, e.g. physnet1",
            )
    if encap_ip is not None:
        try:
            ipaddress.ip_address(encap_ip)
        except ValueError:
            raise _problem(
                "--encap-ip", encap_ip, "is not an IP address", "give e.g. 127.0.0.2"
            ) from None
    if timeout < 1:
        raise _problem("--timeout", timeout, "must be at least 1 second", "give e.g. 30")


def _liveness_signals() -> queue.SimpleQueue[int]:
    """SIGUSR1 and SIGUSR2 as they arrive, for the main loop to act on outside the handler."""
    received: queue.SimpleQueue[int] = queue.SimpleQueue()

    def _queue(signum: int, _frame: FrameType | None) -> None:
        received.put(signum)

    signal.signal(signal.SIGUSR1, _queue)
    signal.signal(signal.SIGUSR2, _queue)
    return received


def dpu(
    *,
    sb: Annotated[
        str,
        typer.Option(
            "--sb",
            metavar="REMOTE",
            help="The Southbound database: tcp:IP:PORT, ssl:IP:PORT or unix:PATH.",
        ),
    ],
    hostname: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="The DPU's host name: its Chassis.hostname, what requested-chassis names.",
        ),
    ],
    serial: Annotated[
        str,
        typer.Option(
            metavar="SN",
            help="The card's serial number, registered as card-serial-number=SN.",
        ),
    ],
    pf_mac: Annotated[
        list[str],
        typer.Option(
            "--pf-mac",
            metavar="MAC",
            help="The MAC of a PF as the host sees it; once per PF (pf0, pf1, ...).",
        ),
    ],
    vfs: Annotated[
        int, typer.Option(metavar="N", help="VFs per PF: representors pfNvf0 to pfNvf(N-1).")
    ] = DEFAULT_VFS,
    physnet: Annotated[
        list[str] | None,
        typer.Option(
            "--physnet",
            metavar="PHYSNET",
            help="A physical network in its ovn-bridge-mappings; repeat for several.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(metavar="CHASSIS", help="The Chassis name (default: the host name)."),
    ] = None,
    cms_option: Annotated[
        list[str] | None,
        typer.Option(
            "--cms-option",
            metavar="OPT",
            help="Another item of ovn-cms-options, e.g. enable-chassis-as-gw; repeatable.",
        ),
    ] = None,
    encap_ip: Annotated[
        str | None,
        typer.Option(
            metavar="IP", help="Its Geneve tunnel IP (default: a 127/8 address of its own)."
        ),
    ] = None,
    timeout: Annotated[
        int,
        typer.Option(metavar="SECONDS", help="How long to wait for the Southbound to answer."),
    ] = DEFAULT_TIMEOUT,
    keep_chassis: Annotated[
        bool,
        typer.Option(
            "--keep-chassis",
            help="Leave its Chassis rows on exit, as `ovn-appctl exit --restart` does.",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Run a simulated DPU's ovn-controller on OVN until SIGTERM.

    It registers its chassis with the card serial and claims the port bindings
    requested on it whose representor (PF MAC, VF number) the card has.
    SIGUSR1 makes it stop answering (a hung ovn-controller), SIGUSR2 brings it
    back. On exit it removes its chassis, unless --keep-chassis.
    """
    simulated = checked_dpu(hostname=hostname, serial=serial, pf_macs=pf_mac, vfs=vfs)
    check_connection_options(sb=sb, physnets=physnet or (), encap_ip=encap_ip, timeout=timeout)
    # ovsdbapp is imported only by the command that connects, not by every `offpath` run.
    from offpath.network.ovn.sim_controller import SimOvnController

    log_to_stderr(verbose=verbose)
    stop = stop_on_signals()
    liveness = _liveness_signals()
    controller = SimOvnController(
        sb,
        simulated,
        name=name,
        physnets=physnet or (),
        cms_options=cms_option or (),
        encap_ip=encap_ip,
        timeout=timeout,
    )
    try:
        _start(controller)
        typer.echo(
            f"offpath sim dpu: chassis {controller.name} registered "
            f"({serial_item(simulated.serial or '')}), plugging representors for PF MACs "
            f"{', '.join(simulated.pf_macs)} ({simulated.vfs} VFs each)"
        )
        _serve(controller, stop, liveness)
    finally:
        controller.stop(remove=not keep_chassis)
    if keep_chassis:
        LOG.info("chassis %s left registered (--keep-chassis)", controller.name)


def _start(controller: SimOvnController) -> None:
    try:
        controller.start()
    except OvnUnavailable as exc:
        # The service's hint (its config file, reconnecting) does not fit a command that exits.
        raise OvnUnavailable(
            exc.database,
            exc.connection,
            exc.problem,
            hint=f"check that an OVN Southbound ovsdb-server listens at {exc.connection} "
            f"(`ovn-sbctl --db={exc.connection} show`); a slow one needs a longer --timeout",
        ) from None


def _serve(
    controller: SimOvnController,
    stop: threading.Event,
    liveness: queue.SimpleQueue[int],
) -> None:
    while not stop.is_set():
        try:
            signum = liveness.get(timeout=_POLL)
        except queue.Empty:
            continue
        if signum == signal.SIGUSR1:
            controller.go_down()
            continue
        try:
            controller.come_back()
        except OvnUnavailable as exc:
            # It answers again once the connection is back: the IDL replays SB_Global then.
            LOG.warning("coming back: %s", exc.message)
