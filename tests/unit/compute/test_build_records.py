"""The agent's records on the wire: build messages in, build results out; read back or refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.build_message import BuildMessage
from offpath.compute.build_result import BuildResult, BuildState, PlugConfirmation, PortOutcome
from offpath.compute.port_binding import direct_physnets
from offpath.errors import PrimitiveInvalid
from offpath.pci.device import DevType, PciDevice
from offpath.pci.selection import SelectedDevice
from offpath.pci.spec_list import DeviceSpecList

RESULT = BuildResult(
    "i1",
    "h1",
    BuildState.ERROR,
    (
        PortOutcome(
            "p1",
            "remote-managed",
            "0000:43:00.1",
            "ovs",
            "noop",
            None,
            PlugConfirmation.BIND_ANSWER,
            "ACTIVE",
        ),
        PortOutcome(
            "p2",
            "direct",
            "0000:44:00.1",
            "hw_veb",
            None,
            "network-vif-plugged",
            PlugConfirmation.EVENT,
            "ACTIVE",
        ),
    ),
    1.25,
    fault="Virtual Interface creation failed: x",
    code="compute.vif.create_failed",
)


def test_a_build_result_reads_back_equal() -> None:
    assert BuildResult.from_primitive(RESULT.to_primitive()) == RESULT


def _message() -> dict[str, Any]:
    device = PciDevice("0000:43:00.1", "15b3", "101e", DevType.VF, vf_num=0)
    return {
        "instance_uuid": "i1",
        "name": "vm",
        "flavor": {"name": "m1", "vcpus": 2, "memory_mb": 1024},
        "port_ids": ["p1", "p2"],
        "devices": [
            {
                "request_id": "r1",
                "requester_id": "p1",
                "selected": SelectedDevice(device, 0).to_primitive(),
            }
        ],
    }


def test_a_build_message_pairs_each_port_with_its_vf() -> None:
    message = BuildMessage.from_primitive(_message())
    assert (message.vcpus, message.memory_mb, message.port_ids) == (2, 1024, ("p1", "p2"))
    found = message.device_for("p1")
    assert found is not None
    assert found.selected.device.address == "0000:43:00.1"
    assert message.device_for("p2") is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param({"devices": None}, "field 'devices' must be a list", id="no-devices"),
        pytest.param({"instance_uuid": 3}, "field 'instance_uuid' must be a string", id="uuid"),
        pytest.param({"port_ids": "p1"}, "field 'port_ids' must be a list", id="ports"),
    ],
)
def test_a_damaged_build_message_is_refused(change: dict[str, object], problem: str) -> None:
    with pytest.raises(PrimitiveInvalid) as caught:
        BuildMessage.from_primitive({**_message(), **change})
    assert problem in caught.value.message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(list(RESULT.to_primitive())), JSON))
def test_any_build_result_document_parses_or_is_refused_clearly(data: dict[str, object]) -> None:
    try:
        parsed = BuildResult.from_primitive({**RESULT.to_primitive(), **data})
    except PrimitiveInvalid:
        return
    again = parsed.to_primitive()
    assert BuildResult.from_primitive(again).to_primitive() == again


@given(st.dictionaries(st.sampled_from(list(_message())), JSON))
def test_any_build_message_parses_or_is_refused_clearly(data: dict[str, object]) -> None:
    try:
        parsed = BuildMessage.from_primitive({**_message(), **data})
    except PrimitiveInvalid:
        return
    assert all(device.requester_id != "" for device in parsed.devices)


def test_the_physnets_reported_are_those_of_direct_specs() -> None:
    specs = DeviceSpecList.from_values(
        [
            '{"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true", '
            '"physical_network": "physnet-dpu"}',
            '{"vendor_id": "15b3", "product_id": "1018", "physical_network": "physnet2"}',
            '{"vendor_id": "8086", "product_id": "154c", "physical_network": "physnet1"}',
            '{"vendor_id": "8086", "product_id": "10ed"}',
        ],
        sysfs_root=Path("/nonexistent"),
    )
    assert direct_physnets(specs) == ("physnet1", "physnet2")


@pytest.mark.parametrize("duration", [float("nan"), float("inf"), -1, True, "1"])
def test_a_build_result_with_a_bad_duration_is_refused(duration: object) -> None:
    with pytest.raises(PrimitiveInvalid):
        BuildResult.from_primitive({**RESULT.to_primitive(), "duration": duration})
