"""The claim state machine (spec §3.6): PF and VFs never both in use, failures change nothing."""

from __future__ import annotations

import contextlib
import logging
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import (
    Conflict,
    PciDeviceInvalidOwner,
    PciDeviceInvalidStatus,
    PciDeviceNotFound,
    PciDevicePFInvalidStatus,
    PciDeviceVFInvalidStatus,
)
from offpath.pci.claims import DeviceState, DeviceStates, DeviceStatus
from offpath.pci.device import DevType, PciDevice

HOST = "compute-1"
PF = "0000:81:00.0"
VF1 = "0000:81:00.1"
VF2 = "0000:81:00.2"
VDPA = "0000:81:00.3"
PCI = "0000:05:00.0"
ORPHAN_VF = "0000:82:00.1"  # its PF is not tracked
PF2 = "0000:83:00.0"
PF2_VF = "0000:83:00.1"

A = "a1b2c3d4-0000-4000-8000-00000000000a"
B = "a1b2c3d4-0000-4000-8000-00000000000b"

AVAILABLE = DeviceStatus.AVAILABLE
CLAIMED = DeviceStatus.CLAIMED
ALLOCATED = DeviceStatus.ALLOCATED
REMOVED = DeviceStatus.REMOVED
DELETED = DeviceStatus.DELETED
UNCLAIMABLE = DeviceStatus.UNCLAIMABLE
UNAVAILABLE = DeviceStatus.UNAVAILABLE


def host(**statuses: DeviceStatus) -> DeviceStates:
    """A host with one PF family, a lone VF, a type-PCI device and a second PF family.

    Keyword names are the constants' names in lower case (pf, vf1, ...).
    """
    layout = [
        (PF, DevType.PF, None),
        (VF1, DevType.VF, PF),
        (VF2, DevType.VF, PF),
        (VDPA, DevType.VDPA, PF),
        (PCI, DevType.PCI, None),
        (ORPHAN_VF, DevType.VF, "0000:82:00.0"),
        (PF2, DevType.PF, None),
        (PF2_VF, DevType.VF, PF2),
    ]
    names = {PF: "pf", VF1: "vf1", VF2: "vf2", VDPA: "vdpa", PCI: "pci", ORPHAN_VF: "orphan_vf"}
    names |= {PF2: "pf2", PF2_VF: "pf2_vf"}
    return DeviceStates.of(
        HOST,
        (
            DeviceState(address, dev_type, parent, statuses.get(names[address], AVAILABLE))
            for address, dev_type, parent in layout
        ),
    )


def status(states: DeviceStates, address: str) -> DeviceStatus:
    return states.get(address).status


def test_a_discovered_device_starts_available() -> None:
    device = PciDevice(
        address=VF1, vendor_id="15b3", product_id="101e", dev_type=DevType.VF, parent_addr=PF
    )
    assert DeviceState.of(device) == DeviceState(VF1, DevType.VF, PF, AVAILABLE)


def test_an_untracked_address_is_nova_s_device_not_found() -> None:
    with pytest.raises(PciDeviceNotFound) as caught:
        host().get("0000:99:00.0")
    assert caught.value.message == f"PCI Device {HOST}:0000:99:00.0 not found."
    assert caught.value.code == "pci.device.not_on_host"


# --- claim -------------------------------------------------------------------


def test_claim_marks_the_device_claimed_for_the_instance_and_request() -> None:
    claimed = host().claim(VF1, instance_uuid=A, request_id="req-1").get(VF1)
    assert (claimed.status, claimed.instance_uuid, claimed.request_id) == (CLAIMED, A, "req-1")


def test_claiming_a_vf_makes_its_available_pf_unclaimable() -> None:
    assert status(host().claim(VF1, instance_uuid=A), PF) is UNCLAIMABLE


def test_claiming_a_vdpa_device_makes_its_pf_unclaimable_like_a_vf() -> None:
    assert status(host().claim(VDPA, instance_uuid=A), PF) is UNCLAIMABLE


@pytest.mark.parametrize(
    "pf_status",
    [pytest.param(UNCLAIMABLE, id="unclaimable"), pytest.param(UNAVAILABLE, id="unavailable")],
)
def test_claiming_a_vf_leaves_a_blocked_pf_as_it_is(pf_status: DeviceStatus) -> None:
    assert status(host(pf=pf_status).claim(VF1, instance_uuid=A), PF) is pf_status


@pytest.mark.parametrize(
    "pf_status",
    [pytest.param(CLAIMED, id="claimed"), pytest.param(ALLOCATED, id="allocated")],
)
def test_a_vf_of_a_pf_in_use_cannot_be_claimed(pf_status: DeviceStatus) -> None:
    with pytest.raises(PciDevicePFInvalidStatus) as caught:
        host(pf=pf_status).claim(VF1, instance_uuid=A)
    assert caught.value.message == (
        f"Physical Function {HOST}:{PF}, related to VF {HOST}:{VF1} is {pf_status.value} "
        "instead of available or unclaimable or unavailable"
    )


def test_a_vf_whose_pf_is_not_tracked_can_be_claimed() -> None:
    assert status(host().claim(ORPHAN_VF, instance_uuid=A), ORPHAN_VF) is CLAIMED


def test_claiming_a_pf_makes_all_its_children_unclaimable() -> None:
    states = host().claim(PF, instance_uuid=A)
    assert [status(states, a) for a in (VF1, VF2, VDPA)] == [UNCLAIMABLE] * 3


def test_claiming_a_pf_leaves_other_families_alone() -> None:
    assert status(host().claim(PF, instance_uuid=A), PF2_VF) is AVAILABLE


def test_a_pf_with_a_vf_in_use_cannot_be_claimed() -> None:
    with pytest.raises(PciDeviceVFInvalidStatus) as caught:
        host(vf2=CLAIMED).claim(PF, instance_uuid=A)
    assert caught.value.message == f"Not all Virtual Functions of PF {HOST}:{PF} are free."


def test_a_pf_whose_vfs_are_only_blocked_is_claimed_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nova bug 1969496: an inconsistent but unused family must not block the PF.
    with caplog.at_level(logging.WARNING, logger="offpath.pci.claims"):
        states = host(vf1=UNCLAIMABLE, vf2=UNAVAILABLE).claim(PF, instance_uuid=A)
    assert status(states, PF) is CLAIMED
    assert "unavailable, unclaimable" in caplog.text


def test_claiming_a_type_pci_device_changes_no_other_device() -> None:
    before = host()
    after = before.claim(PCI, instance_uuid=A)
    assert [s for s in after if s.address != PCI] == [s for s in before if s.address != PCI]


@pytest.mark.parametrize(
    "current",
    [CLAIMED, ALLOCATED, REMOVED, DELETED, UNCLAIMABLE, UNAVAILABLE],
    ids=lambda s: s.value,
)
def test_only_an_available_device_can_be_claimed(current: DeviceStatus) -> None:
    with pytest.raises(PciDeviceInvalidStatus) as caught:
        host(pci=current).claim(PCI, instance_uuid=A)
    assert caught.value.message == (
        f"PCI device {HOST}:{PCI} is {current.value} instead of available"
    )
    assert caught.value.code == "pci.claim.invalid_status"


# --- allocate ----------------------------------------------------------------


def test_allocating_a_device_the_instance_claimed_allocates_it() -> None:
    states = host().claim(VF1, instance_uuid=A).allocate(VF1, instance_uuid=A)
    assert (status(states, VF1), states.get(VF1).instance_uuid) == (ALLOCATED, A)


def test_allocating_a_vf_makes_its_pf_unavailable() -> None:
    states = host().claim(VF1, instance_uuid=A).allocate(VF1, instance_uuid=A)
    assert status(states, PF) is UNAVAILABLE


def test_an_available_device_can_be_allocated_without_a_claim() -> None:
    states = host().allocate(VF1, instance_uuid=B)
    assert (status(states, VF1), status(states, PF)) == (ALLOCATED, UNAVAILABLE)


def test_a_device_claimed_by_another_instance_cannot_be_allocated() -> None:
    with pytest.raises(PciDeviceInvalidOwner) as caught:
        host().claim(VF1, instance_uuid=A).allocate(VF1, instance_uuid=B)
    assert caught.value.message == f"PCI device {HOST}:{VF1} is owned by {A} instead of {B}"


@pytest.mark.parametrize(
    "current",
    [ALLOCATED, REMOVED, DELETED, UNCLAIMABLE, UNAVAILABLE],
    ids=lambda s: s.value,
)
def test_only_an_available_or_claimed_device_can_be_allocated(current: DeviceStatus) -> None:
    with pytest.raises(PciDeviceInvalidStatus) as caught:
        host(pci=current).allocate(PCI, instance_uuid=A)
    assert caught.value.message.endswith(f"is {current.value} instead of available or claimed")


def test_allocating_a_pf_makes_its_children_unavailable() -> None:
    states = host().claim(PF, instance_uuid=A).allocate(PF, instance_uuid=A)
    assert [status(states, a) for a in (VF1, VF2, VDPA)] == [UNAVAILABLE] * 3


def test_a_pf_with_an_allocated_vf_cannot_be_allocated() -> None:
    with pytest.raises(PciDeviceVFInvalidStatus):
        host(vf1=ALLOCATED).allocate(PF, instance_uuid=A)


def test_a_vf_of_a_claimed_pf_cannot_be_allocated() -> None:
    with pytest.raises(PciDevicePFInvalidStatus):
        host(pf=CLAIMED).allocate(VF1, instance_uuid=A)


# --- free --------------------------------------------------------------------


def test_freeing_a_device_makes_it_available_without_owner_or_request() -> None:
    states = host().claim(VF1, instance_uuid=A, request_id="req-1").free(VF1)
    assert states.get(VF1) == DeviceState(VF1, DevType.VF, PF, AVAILABLE)


def test_freeing_the_last_vf_in_use_makes_its_pf_available() -> None:
    states = host().claim(VF1, instance_uuid=A).allocate(VF1, instance_uuid=A).free(VF1)
    assert status(states, PF) is AVAILABLE


def test_freeing_one_vf_keeps_the_pf_blocked_while_a_sibling_is_in_use() -> None:
    states = host().claim(VF1, instance_uuid=A).claim(VF2, instance_uuid=B).free(VF1)
    assert status(states, PF) is UNCLAIMABLE


def test_freeing_a_pf_makes_its_children_available() -> None:
    states = host().allocate(PF, instance_uuid=A).free(PF)
    assert [status(states, a) for a in (PF, VF1, VF2, VDPA)] == [AVAILABLE] * 4


@pytest.mark.parametrize(
    "current",
    [AVAILABLE, REMOVED, DELETED, UNCLAIMABLE, UNAVAILABLE],
    ids=lambda s: s.value,
)
def test_only_a_claimed_or_allocated_device_can_be_freed(current: DeviceStatus) -> None:
    with pytest.raises(PciDeviceInvalidStatus) as caught:
        host(pci=current).free(PCI)
    assert caught.value.message.endswith(f"is {current.value} instead of allocated or claimed")


def test_freeing_checks_the_owner_when_one_is_given() -> None:
    with pytest.raises(PciDeviceInvalidOwner):
        host().claim(VF1, instance_uuid=A).free(VF1, instance_uuid=B)


# --- remove / delete ---------------------------------------------------------


@pytest.mark.parametrize("current", [AVAILABLE, UNCLAIMABLE, UNAVAILABLE], ids=lambda s: s.value)
def test_an_unused_device_can_be_removed(current: DeviceStatus) -> None:
    assert status(host(pci=current).remove(PCI), PCI) is REMOVED


@pytest.mark.parametrize("current", [CLAIMED, ALLOCATED, REMOVED, DELETED], ids=lambda s: s.value)
def test_a_used_or_gone_device_cannot_be_removed(current: DeviceStatus) -> None:
    with pytest.raises(PciDeviceInvalidStatus) as caught:
        host(pci=current).remove(PCI)
    assert caught.value.message.endswith(
        f"is {current.value} instead of available or unclaimable or unavailable"
    )


def test_a_device_with_an_owner_cannot_be_removed_whatever_its_status() -> None:
    states = DeviceStates.of(
        HOST, [DeviceState(PCI, DevType.PCI, status=UNAVAILABLE, instance_uuid=A)]
    )
    with pytest.raises(PciDeviceInvalidOwner) as caught:
        states.remove(PCI)
    assert caught.value.message == f"PCI device {HOST}:{PCI} is owned by {A} instead of None"


def test_a_removed_device_can_be_deleted() -> None:
    assert status(host(pci=REMOVED).delete(PCI), PCI) is DELETED


def test_only_a_removed_device_can_be_deleted() -> None:
    with pytest.raises(PciDeviceInvalidStatus):
        host().delete(PCI)


def test_a_removed_vf_does_not_stop_its_pf_being_claimed() -> None:
    states = host(vf2=REMOVED).claim(PF, instance_uuid=A)
    assert (status(states, PF), status(states, VF2)) == (CLAIMED, REMOVED)


def test_freeing_a_vf_never_brings_back_a_removed_pf() -> None:
    states = host().claim(VF1, instance_uuid=A).remove(PF).free(VF1)
    assert status(states, PF) is REMOVED


def test_freeing_a_pf_leaves_a_removed_child_removed() -> None:
    states = host().claim(PF, instance_uuid=A).remove(VF1).free(PF)
    assert status(states, VF1) is REMOVED


# --- whole-host properties -----------------------------------------------------

FAMILY = {PF: (VF1, VF2, VDPA), PF2: (PF2_VF,)}
ADDRESSES = [PF, VF1, VF2, VDPA, PCI, ORPHAN_VF, PF2, PF2_VF]
_ops = st.tuples(
    st.sampled_from(["claim", "allocate", "free", "remove"]),
    st.sampled_from(ADDRESSES),
    st.sampled_from([A, B]),
)


def apply(states: DeviceStates, op: str, address: str, instance: str) -> DeviceStates:
    if op == "claim":
        return states.claim(address, instance_uuid=instance)
    if op == "allocate":
        return states.allocate(address, instance_uuid=instance)
    if op == "free":
        return states.free(address)
    return states.remove(address)


BLOCKED = {UNCLAIMABLE, UNAVAILABLE}


def assert_pf_and_vfs_exclusive(states: DeviceStates) -> None:
    for pf, children in FAMILY.items():
        parent = states.get(pf)
        kids = [states.get(child) for child in children if status(states, child) is not REMOVED]
        if parent.in_use:
            assert not any(kid.in_use for kid in kids)
            assert all(kid.status in BLOCKED for kid in kids)
        if any(kid.in_use for kid in kids) and parent.status is not REMOVED:
            assert parent.status in BLOCKED
    for state in states:
        # An owner exactly when in use: no claim is ever lost or left behind.
        assert (state.instance_uuid is not None) == state.in_use


@settings(max_examples=300)
@given(ops=st.lists(_ops, max_size=25), order=st.randoms(use_true_random=False))
def test_random_transitions_keep_pf_and_vfs_exclusive_and_free_restores(
    ops: list[tuple[str, str, str]], order: random.Random
) -> None:
    states = host()
    for op, address, instance in ops:
        try:
            after = apply(states, op, address, instance)
        except Conflict:
            continue
        states = after
        assert_pf_and_vfs_exclusive(states)
    in_use = [s.address for s in states if s.in_use]
    order.shuffle(in_use)
    for address in in_use:
        states = states.free(address)
        assert_pf_and_vfs_exclusive(states)
    left = [s for s in states if s.status is not REMOVED]
    assert all(s.status is AVAILABLE and s.instance_uuid is None for s in left)


@given(ops=st.lists(_ops, max_size=15), op=_ops)
def test_a_failed_transition_leaves_every_device_as_it_was(
    ops: list[tuple[str, str, str]], op: tuple[str, str, str]
) -> None:
    states = host()
    for step in ops:
        with contextlib.suppress(Conflict):
            states = apply(states, *step)
    snapshot = dict(states.devices)
    try:
        apply(states, *op)
    except Conflict:
        assert dict(states.devices) == snapshot
