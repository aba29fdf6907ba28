"""A simulated host's DPU registers its chassis over HTTP, heartbeats, and plugs that host's VFs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from offpath.errors import InvalidInput, NetworkServiceUnavailable
from offpath.network.dpu_agent import DpuAgent
from offpath.network.embedded import embedded_network_service
from offpath.sim.dpu import SimDpu
from offpath.sim.host import plan_host
from offpath.sim.profile import load_profile
from tests.network.conftest import TOKEN, network_app
from tests.network.server import free_port, serving
from tests.network.test_dpu_sim_binding import bind, make_network, make_port

DOWN_TIME = timedelta(seconds=0.6)


def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_simulated_hosts_dpu_serves_its_vfs_while_it_beats(
    api_engine: Engine, tmp_path: Path
) -> None:
    host = plan_host(load_profile("bluefield2"), tmp_path / "sys", hostname="compute-1", vfs=4)
    (card,) = host.cards
    dpu = SimDpu.of_card(card, hostname="compute-1-dpu0")
    assert dpu.serial == card.serial
    assert dpu.vfs == 4
    vf = card.pfs[1].vfs[2]
    profile = {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": str(vf.address),
        "physical_network": None,
        "card_serial_number": vf.card_serial,
        "pf_mac_address": card.pfs[1].mac,
        "vf_num": vf.vf_num,
    }
    service = embedded_network_service(api_engine, chassis_down_time=DOWN_TIME)
    with (
        serving(network_app(service)) as url,
        httpx.Client(base_url=url, headers={"X-Auth-Token": TOKEN}) as http,
    ):
        agent = DpuAgent(f"{url}/network", dpu, token=TOKEN, interval=0.1)
        agent.start()
        try:
            time.sleep(DOWN_TIME.total_seconds() * 1.5)
            # Still alive past the down time: the heartbeat keeps it so.
            port = bind(http, make_port(http, make_network(http)), profile)
            assert port["status"] == "ACTIVE"
            chassis = http.get("/network/offpath/chassis/compute-1-dpu0").json()["chassis"]
            assert chassis["representors"][0]["representor"] == "pf1vf2"
        finally:
            agent.stop()
        wait_until(
            lambda: (
                not http.get("/network/offpath/chassis/compute-1-dpu0").json()["chassis"]["alive"]
            )
        )
        late = bind(http, make_port(http, make_network(http)), {**profile, "vf_num": 3})
        assert late["binding:vif_type"] == "binding_failed"


def test_a_dpu_without_a_serial_cannot_register() -> None:
    with pytest.raises(InvalidInput, match="no card serial"):
        DpuAgent("http://127.0.0.1:9/network", SimDpu("d", ("52:54:00:00:00:01",), 4), token="t")


def test_registering_with_an_unreachable_service_is_one_clear_error() -> None:
    dpu = SimDpu("d", ("52:54:00:00:00:01",), 4, "SN1")
    agent = DpuAgent(f"http://127.0.0.1:{free_port()}/network", dpu, token="t", timeout=1)
    with pytest.raises(NetworkServiceUnavailable):
        agent.start()
    agent.stop()
