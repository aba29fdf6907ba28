"""Spec selection decided once at discovery, and the primitive form selections travel in."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import PciConfigInvalidSpec, PrimitiveInvalid
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest
from offpath.pci.selection import SelectedDevice, select_devices
from offpath.pci.spec import DeviceSpec, MatchableDevice
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.vpd import ChecksumStatus, VpdRecord

NO_SYSFS = Path("/nonexistent-sysfs-root")
PF = "0000:03:00.0"
SERIAL = "MT2113X00000"


def specs(*entries: dict[str, JsonValue], root: Path = NO_SYSFS) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=root)


def vf(address: str, *, serial: str | None = None, product: str = "101e") -> PciDevice:
    return PciDevice(
        address, "15b3", product, DevType.VF, parent_addr=PF, card_serial_number=serial
    )


SPECS = specs(
    {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"},
    {
        "vendor_id": "15b3",
        "product_id": "101e",
        "physical_network": "physnet1",
        "resource_class": "CUSTOM_VF",
        "traits": "CUSTOM_A",
    },
)


# -- select_devices -------------------------------------------------------------


def test_each_device_gets_the_index_and_pool_tags_of_its_first_matching_spec() -> None:
    found = select_devices([vf("0000:03:00.2", serial=SERIAL), vf("0000:03:00.3")], SPECS)
    assert [(s.device.address, s.spec_index, dict(s.tags)) for s in found] == [
        ("0000:03:00.2", 0, {"remote_managed": "true"}),
        # Placement-only tags are no pool keys, so a selection does not carry them.
        ("0000:03:00.3", 1, {"physical_network": "physnet1"}),
    ]


def test_a_device_no_spec_selects_is_left_out() -> None:
    found = select_devices([vf("0000:03:00.2", product="1018"), vf("0000:03:00.3")], SPECS)
    assert [s.device.address for s in found] == ["0000:03:00.3"]


class _BrokenSpec(DeviceSpec):
    """A spec whose matching fails for one address, as a bad device record can make it."""

    def matches(self, device: MatchableDevice) -> bool:
        if device.address == "0000:03:00.2":
            raise PciConfigInvalidSpec("cannot check 0000:03:00.2")
        return True


def test_a_spec_error_while_matching_one_device_only_skips_that_device(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = _BrokenSpec(0, "15b3", "101e", None, None, {}, source="")
    with caplog.at_level(logging.WARNING, logger="offpath.pci.selection"):
        found = select_devices([vf("0000:03:00.2"), vf("0000:03:00.3")], DeviceSpecList([broken]))
    assert [s.device.address for s in found] == ["0000:03:00.3"]
    assert "0000:03:00.2 skipped: Invalid [pci]device_spec config" in caplog.text


def test_pools_of_a_devname_spec_are_built_and_used_without_the_sysfs_tree(
    sysfs_root: Path,
) -> None:
    devname = specs({"devname": "p0", "physical_network": "physnet1"}, root=sysfs_root)
    pf = PciDevice(PF, "15b3", "a2d6", DevType.PF)
    devices = [pf, vf("0000:03:00.2"), vf("0000:03:00.3")]
    selected = select_devices(devices, devname)
    shutil.rmtree(sysfs_root)
    # Matching now would look p0 up again and find nothing: the pools must not match.
    assert devname.first_match(pf) is None
    pools = PciPools.build(selected, host="h")
    assert [(p.key.dev_type, p.count) for p in pools] == [("type-PF", 1), ("type-VF", 2)]
    taken = pools.consume([PciRequest(1, ({"dev_type": "type-VF"},), "r1")])
    pools.free(taken)
    pools.remove_device(selected[0])
    assert pools.free_count == 2


# -- primitives -------------------------------------------------------------------

texts = st.text(max_size=12)
maybe_texts = st.none() | texts
maybe_ints = st.none() | st.integers(-(2**40), 2**40)
text_maps = st.dictionaries(texts, texts, max_size=3)

vpd_records = st.builds(
    VpdRecord,
    card_name=maybe_texts,
    part_number=maybe_texts,
    change_level=maybe_texts,
    fabric_geography=maybe_texts,
    location=maybe_texts,
    manufacture_id=maybe_texts,
    pci_geography=maybe_texts,
    serial_number=maybe_texts,
    ro_vendor_fields=text_maps,
    asset_tag=maybe_texts,
    rw_vendor_fields=text_maps,
    rw_system_fields=text_maps,
    checksum=st.sampled_from(ChecksumStatus),
    damage=st.lists(texts, max_size=3).map(tuple),
)

devices = st.builds(
    PciDevice,
    address=texts,
    vendor_id=texts,
    product_id=texts,
    dev_type=st.sampled_from(DevType),
    device_class=maybe_texts,
    parent_addr=maybe_texts,
    numa_node=maybe_ints,
    driver=maybe_texts,
    iommu_group=maybe_ints,
    netdev=maybe_texts,
    mac_address=maybe_texts,
    parent_ifname=maybe_texts,
    vf_num=maybe_ints,
    pf_mac_address=maybe_texts,
    card_serial_number=maybe_texts,
    vpd=st.none() | vpd_records,
    network_caps=st.lists(texts, max_size=3).map(tuple),
    eswitch_mode=maybe_texts,
    sriov_totalvfs=maybe_ints,
    sriov_numvfs=maybe_ints,
    exclusion=maybe_texts,
    serial_source=maybe_texts,
    vdpa_device=maybe_texts,
    network_caps_known=st.booleans(),
    notes=st.lists(texts, max_size=3).map(tuple),
)

json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)

selections = st.builds(
    SelectedDevice,
    device=devices,
    spec_index=st.integers(0, 1000),
    tags=st.dictionaries(texts, json_values, max_size=4),
)


@settings(max_examples=200)
@given(selections)
def test_a_selection_comes_back_equal_from_its_primitive_sent_as_json(
    selection: SelectedDevice,
) -> None:
    wire = json.loads(json.dumps(selection.to_primitive()))
    assert SelectedDevice.from_primitive(wire) == selection


@given(devices)
def test_a_device_comes_back_equal_from_its_primitive(device: PciDevice) -> None:
    assert PciDevice.from_primitive(json.loads(json.dumps(device.to_primitive()))) == device


def test_a_selection_with_a_null_tag_keeps_it() -> None:
    selection = SelectedDevice(vf("0000:03:00.2"), 0, {"physical_network": None})
    back = SelectedDevice.from_primitive(selection.to_primitive())
    assert dict(back.tags) == {"physical_network": None}


@settings(max_examples=300)
@given(
    selections, st.sampled_from(["device", "spec_index", "tags", "vpd", "dev_type"]), json_values
)
def test_a_damaged_primitive_raises_primitive_invalid_or_reads_back(
    selection: SelectedDevice, name: str, value: JsonValue
) -> None:
    wire = selection.to_primitive()
    device = wire["device"]
    assert isinstance(device, dict)
    if name in ("vpd", "dev_type"):
        device[name] = value
    else:
        wire[name] = value
    try:
        SelectedDevice.from_primitive(wire)
    except PrimitiveInvalid as exc:
        assert exc.code == "record.primitive.invalid"


@given(json_values)
def test_any_json_is_read_as_a_selection_or_refused_with_primitive_invalid(
    value: JsonValue,
) -> None:
    try:
        SelectedDevice.from_primitive(value)
    except PrimitiveInvalid as exc:
        assert exc.message.startswith("SelectedDevice primitive:")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(
            {"spec_index": "0"},
            "SelectedDevice primitive: field 'spec_index' must be an integer or null, not str",
            id="index-text",
        ),
        pytest.param(
            {"device": None}, "SelectedDevice primitive: field 'device' is missing", id="no-device"
        ),
        pytest.param(
            {"tags": {"a": {1, 2}}},
            "SelectedDevice primitive: field 'tags' must be an object of JSON values, not dict",
            id="tag-not-json",
        ),
    ],
)
def test_a_damaged_primitive_names_the_field(damage: dict[str, object], message: str) -> None:
    wire: dict[str, object] = {**SelectedDevice(vf("0000:03:00.2"), 0).to_primitive(), **damage}
    with pytest.raises(PrimitiveInvalid) as caught:
        SelectedDevice.from_primitive(wire)
    assert caught.value.message == message


def test_an_unknown_dev_type_is_named() -> None:
    wire = vf("0000:03:00.2").to_primitive()
    wire["dev_type"] = "type-XX"
    with pytest.raises(PrimitiveInvalid) as caught:
        PciDevice.from_primitive(wire)
    assert caught.value.message == (
        "PciDevice primitive: field 'dev_type' is 'type-XX', not one of type-PCI, type-PF, "
        "type-VF, vdpa"
    )
