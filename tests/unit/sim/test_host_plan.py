"""Properties of every planned host: unique, valid addresses, MACs, names and serials."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.pci.address import PciAddress
from offpath.sim.faults import Fault, FaultKind
from offpath.sim.host import SimHost, plan_host
from offpath.sim.profile import builtin_profiles, load_profile

PROFILES = {name: load_profile(name) for name in builtin_profiles()}


@st.composite
def hosts(draw: st.DrawFn) -> SimHost:
    profile = PROFILES[draw(st.sampled_from(sorted(PROFILES)))]
    return plan_host(
        profile,
        Path("/nonexistent"),
        vfs=draw(st.integers(0, profile.sriov_totalvfs)),
        pfs=draw(st.integers(1, 8)),
        numa_nodes=draw(st.integers(1, 4)),
        seed=draw(st.integers(-(2**63), 2**63)),
    )


@settings(max_examples=40, deadline=None)
@given(hosts())
def test_addresses_are_unique_and_within_pci_limits(host: SimHost) -> None:
    addresses = [function.address for function in host.functions]
    assert len(set(addresses)) == len(addresses)
    assert all(PciAddress.parse(str(address)) == address for address in addresses)


@settings(max_examples=40, deadline=None)
@given(hosts())
def test_macs_and_interface_names_are_unique(host: SimHost) -> None:
    macs = [function.mac for function in host.functions]
    names = [function.ifname for function in host.functions]
    assert len(set(macs)) == len(macs)
    assert len(set(names)) == len(names)
    assert all(name is not None and len(name) <= 15 for name in names)


@settings(max_examples=40, deadline=None)
@given(hosts())
def test_vf_numbers_count_from_zero_under_their_parent(host: SimHost) -> None:
    for pf in host.pfs:
        assert [vf.vf_num for vf in pf.vfs] == list(range(len(pf.vfs)))
        assert {vf.parent for vf in pf.vfs} <= {pf.address}
        assert {vf.numa_node for vf in pf.vfs} <= {pf.numa_node}


@settings(max_examples=40, deadline=None)
@given(hosts())
def test_numa_nodes_are_in_range_and_start_at_zero(host: SimHost) -> None:
    nodes = [pf.numa_node if pf.numa_node is not None else -1 for pf in host.pfs]
    assert nodes[0] == 0
    assert all(0 <= node < host.numa_nodes for node in nodes)
    assert nodes == sorted(nodes)


@settings(max_examples=20, deadline=None)
@given(st.integers(-(2**63), 2**63), st.integers(1, 256))
def test_an_own_vf_serial_never_equals_the_card_serial(seed: int, vfs: int) -> None:
    host = plan_host(
        PROFILES["bluefield2"],
        Path("/nonexistent"),
        vfs=vfs,
        seed=seed,
        faults=[Fault(FaultKind.VF_VPD_OWN_SERIAL)],
    )
    own = host.vfs[0].card_serial
    assert own is not None
    assert own != host.cards[0].serial
