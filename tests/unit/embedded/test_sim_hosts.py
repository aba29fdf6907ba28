"""`--sim-host` values, the default device_spec per profile, and what a simulated host writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.hypervisor_choice import hypervisor_for
from offpath.compute.libvirt_guest import GuestPower, GuestSpec
from offpath.config import load_device_specs
from offpath.embedded.sim_hosts import (
    DEFAULT_PHYSNET,
    SimHostRequest,
    default_device_specs,
    parse_sim_host,
    write_sim_host,
)
from offpath.errors import SimHostSpecInvalid
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.selection import select_devices
from offpath.service_config import load_service_config
from offpath.sim.profile import load_profile
from offpath.version import SERVICE_VERSION

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)


def test_a_bare_value_takes_the_defaults() -> None:
    assert parse_sim_host("compute-1=bluefield2") == SimHostRequest(
        "compute-1", "bluefield2", "cell1", SERVICE_VERSION, None
    )


@given(
    name=names,
    cell=st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True),
    version=st.integers(0, 10_000),
    vfs=st.integers(0, 256),
)
def test_every_option_round_trips(name: str, cell: str, version: int, vfs: int) -> None:
    text = f"{name}=cx6dx,vfs={vfs},cell={cell},service_version={version}"
    assert parse_sim_host(text) == SimHostRequest(name, "cx6dx", cell, version, vfs)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("compute-1", "no '='"),
        ("=bluefield2", "is not a host name"),
        ("compute-1=", "the profile is empty"),
        ("compute-1=bluefield2,colour=red", "'colour=red' is not one of"),
        ("compute-1=bluefield2,vfs", "'vfs' is not one of"),
        ("compute-1=bluefield2,vfs=4,vfs=5", "vfs is given twice"),
        ("compute-1=bluefield2,vfs=-1", "is not a whole number"),
        ("compute-1=bluefield2,vfs=٣", "is not a whole number"),
        ("compute-1=bluefield2,vfs=999", "out of range 0..256"),
        ("compute-1=bluefield2,cell=a b", "is not a cell name"),
    ],
)
def test_bad_values_say_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(SimHostSpecInvalid) as caught:
        parse_sim_host(value)
    assert problem in caught.value.message
    assert "NAME=PROFILE" in caught.value.hint


@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_cleanly(value: str) -> None:
    try:
        parsed = parse_sim_host(value)
    except SimHostSpecInvalid as exc:
        assert exc.message.startswith(f"--sim-host {value!r}: ")
    else:
        assert value.startswith(f"{parsed.name}={parsed.profile}")


def test_dpu_vfs_are_remote_managed_and_nic_vfs_direct_on_physnet1() -> None:
    dpu = json.loads(default_device_specs(load_profile("bluefield3"))[0])
    nic = json.loads(default_device_specs(load_profile("cx6dx"))[0])
    assert dpu == {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"}
    assert nic == {"vendor_id": "15b3", "product_id": "101e", "physical_network": DEFAULT_PHYSNET}


def test_a_written_dpu_host_reads_back_as_an_agent_would(tmp_path: Path) -> None:
    host = write_sim_host(parse_sim_host("compute-dpu-01=bluefield2,vfs=4"), tmp_path)
    config = load_service_config([host.config_file])
    specs = load_device_specs([host.config_file], sysfs_root=host.sysfs_root)
    selected = select_devices(discover_sysfs(host.sysfs_root), specs)
    assert config.host == "compute-dpu-01"
    # 2 PFs x 4 VFs, every VF remote-managed (its card has a serial).
    remote = [s for s in selected if s.device.dev_type.value == "type-VF"]
    assert len(remote) == 8
    assert all(s.tags.get("remote_managed") == "true" for s in remote)
    [card] = host.dpus
    assert card.hostname == "compute-dpu-01-dpu0"
    assert card.serial == host.sim.cards[0].serial
    assert card.pf_macs == tuple(pf.mac for pf in host.sim.cards[0].pfs)
    assert card.vfs == 4


def test_a_nic_host_has_no_dpu(tmp_path: Path) -> None:
    host = write_sim_host(parse_sim_host("compute-nic-01=cx6dx,vfs=2"), tmp_path)
    assert host.dpus == ()
    assert "physnet1" in host.config_file.read_text(encoding="utf-8")


def test_each_host_keeps_its_guests_in_its_own_test_driver_connection(tmp_path: Path) -> None:
    state = tmp_path / "state dir"  # a space: the URI quotes the path
    one, two = (write_sim_host(parse_sim_host(f"h{i}=cx6dx,vfs=1"), state) for i in (1, 2))
    uris = [load_service_config([h.config_file]).libvirt_uri for h in (one, two)]
    assert uris[0] == f"test://{(state / 'hosts/h1/libvirt.xml').resolve()}".replace(" ", "%20")
    first, second = (hypervisor_for(uri) for uri in uris)
    uuid = "6a1f0c4e-8d52-4a43-9d1b-0c3a2f6e0001"
    # The same guest on both hosts, as a live migration has it for a moment.
    for hypervisor in (first, second):
        hypervisor.define(GuestSpec(uuid, "vm", 64, 1, "test", (), ()))
    first.start(uuid, paused=False)
    assert (first.power(uuid), second.power(uuid)) == (GuestPower.RUNNING, GuestPower.SHUTOFF)
    assert first.simulated and second.simulated
    first.close()
    second.close()
