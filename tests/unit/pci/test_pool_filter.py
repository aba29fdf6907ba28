"""The request filtering pipeline (spec §3.2), NUMA on pools (§3.3), placement RPs (§3.4), §14.9."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pool_filter import PoolFilter, filter_pools, request_rp_uuids
from offpath.pci.pool_key import PoolKey
from offpath.pci.pools import PciPools
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.pci.spec_list import DeviceSpecList
from tests.unit.pci.selections import pools_of

# The specs below select by vendor and product only, so no sysfs is read.
NO_SYSFS = Path("/nonexistent-sysfs-root")
HOST = "compute-1"
PF0, PF1 = "0000:03:00.0", "0000:81:00.0"
SERIAL = "MT2113X00000"

RM_VF = {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"}
VF_SPEC = {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"}
PF_SPEC = {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"}
VDPA_SPEC = {"vendor_id": "15b3", "product_id": "101f", "physical_network": "physnet1"}
PCI_SPEC = {"vendor_id": "8086", "product_id": "1572"}
PCI_FALSE = {"vendor_id": "8086", "product_id": "1573", "remote_managed": "false"}
PCI_RM = {"vendor_id": "8086", "product_id": "1574", "remote_managed": "true"}
LM_SPEC = {"vendor_id": "10de", "product_id": "2330", "live_migratable": "true"}
NOLM_SPEC = {"vendor_id": "10de", "product_id": "2331", "live_migratable": "false"}
NOTAG_SPEC = {"vendor_id": "10de", "product_id": "2332"}


def specs(*entries: Mapping[str, JsonValue]) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=NO_SYSFS)


SPECS = specs(RM_VF, VF_SPEC, PF_SPEC, VDPA_SPEC, PCI_SPEC, PCI_FALSE, PCI_RM)
GPU_SPECS = specs(LM_SPEC, NOLM_SPEC, NOTAG_SPEC)


def device(
    address: str,
    product: str,
    dev_type: DevType,
    *,
    vendor: str = "15b3",
    parent: str | None = None,
    numa: int | None = 0,
    serial: str | None = None,
) -> PciDevice:
    return PciDevice(
        address,
        vendor,
        product,
        dev_type,
        parent_addr=parent,
        numa_node=numa,
        card_serial_number=serial,
    )


def host() -> PciPools:
    """Every kind of pool once: PF, plain and remote-managed VFs, vDPA, three type-PCI."""
    return pools_of(
        SPECS,
        [
            device(PF0, "a2d6", DevType.PF),
            device("0000:03:00.2", "101e", DevType.VF, parent=PF0),
            device("0000:03:00.3", "101e", DevType.VF, parent=PF0, serial=SERIAL),
            device("0000:03:00.4", "101f", DevType.VDPA, parent=PF0),
            device("0000:05:00.0", "1572", DevType.PCI, vendor="8086"),
            device("0000:06:00.0", "1573", DevType.PCI, vendor="8086"),
            device("0000:07:00.0", "1574", DevType.PCI, vendor="8086", serial=SERIAL),
        ],
        host=HOST,
    )


def request(
    *spec: Mapping[str, JsonValue],
    count: int = 1,
    alias_name: str | None = None,
    numa_policy: NumaPolicy | None = None,
) -> PciRequest:
    return PciRequest(count, spec, "r1", alias_name=alias_name, numa_policy=numa_policy)


def chosen(
    pools: PciPools,
    req: PciRequest,
    *,
    cells: Sequence[NumaCell] | None = None,
    rp_uuids: Sequence[str] = (),
) -> list[str] | None:
    """Each pool left, as "<dev_type>@<address>[rm]"."""
    kept = filter_pools(
        pools.pools, req, numa_cells=cells, host_cells=pools.host_cells, rp_uuids=rp_uuids
    )
    if kept is None:
        return None
    return [
        f"{p.key.dev_type}@{p.key.address}"
        + ("+rm" if p.key.props.get("remote_managed") == "true" else "")
        for p in kept
    ]


REMOTE_MANAGED_PORT = {"remote_managed": "True", "physical_network": None}
DIRECT_PORT = {"remote_managed": "False", "physical_network": "physnet1"}


@pytest.mark.parametrize(
    ("spec", "pools"),
    [
        pytest.param(
            REMOTE_MANAGED_PORT,
            ["type-VF@0000:03:00.0+rm", "type-PCI@0000:07:00.0+rm"],
            id="remote-managed-port-tagged-devices-only",
        ),
        pytest.param(DIRECT_PORT, ["type-VF@0000:03:00.0"], id="direct-port-plain-vfs"),
        pytest.param(
            {"vendor_id": "15b3"}, ["type-VF@0000:03:00.0"], id="alias-without-tag-drops-rm-pf-vdpa"
        ),
        pytest.param(
            {"dev_type": "type-PF"}, ["type-PF@0000:03:00.0"], id="pf-only-when-requested"
        ),
        pytest.param({"dev_type": "vdpa"}, ["vdpa@0000:03:00.0"], id="vdpa-only-when-requested"),
        pytest.param({"vendor_id": "1af4"}, None, id="nothing-matches"),
    ],
)
def test_pipeline_consequences(spec: dict[str, JsonValue], pools: list[str] | None) -> None:
    assert chosen(host(), request(spec)) == pools


def test_placement_keys_of_a_request_spec_are_ignored() -> None:
    spec = {"dev_type": "type-PF", "resource_class": "CUSTOM_PF", "traits": "X", "rp_uuids": "a"}
    assert chosen(host(), request(spec)) == ["type-PF@0000:03:00.0"]


def test_too_few_devices_after_the_spec_match_is_none() -> None:
    assert chosen(host(), request(DIRECT_PORT, count=2)) is None


def test_the_final_count_check_sees_only_the_kept_pools() -> None:
    # Two plain VFs-or-PF match the spec, but the unrequested PF is dropped.
    spec = {"vendor_id": "15b3", "physical_network": "physnet1", "remote_managed": "false"}
    assert chosen(host(), request(spec, count=2)) is None


# -- §14.9: the remote_managed tag on type-PCI devices -----------------------------


def test_a_direct_port_does_not_match_an_untagged_type_pci_device() -> None:
    only_pci = request({**DIRECT_PORT, "physical_network": None, "vendor_id": "8086"})
    assert chosen(host(), only_pci) == ["type-PCI@0000:06:00.0"]


def test_a_remote_managed_port_may_match_a_type_pci_device_tagged_true() -> None:
    only_pci = request({**REMOTE_MANAGED_PORT, "vendor_id": "8086"})
    assert chosen(host(), only_pci) == ["type-PCI@0000:07:00.0+rm"]


# -- the key-only steps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "props", "kept"),
    [
        pytest.param({}, {"remote_managed": "yes"}, False, id="lenient-pool-yes-dropped"),
        pytest.param({}, {"remote_managed": "no"}, True, id="lenient-pool-no-kept"),
        pytest.param({"remote_managed": "on"}, {"remote_managed": "true"}, True, id="lenient-ask"),
        pytest.param({}, {"dev_type": "type-PF"}, False, id="unrequested-pf"),
        pytest.param({"dev_type": "type-PF"}, {"dev_type": "type-PF"}, True, id="requested-pf"),
        pytest.param({}, {"dev_type": "vdpa"}, False, id="unrequested-vdpa"),
        pytest.param(
            {"live_migratable": "true"}, {"live_migratable": "true"}, True, id="lm-true-kept"
        ),
        pytest.param({"live_migratable": "true"}, {}, False, id="lm-true-untagged-dropped"),
        pytest.param(
            {"live_migratable": "false"}, {"live_migratable": "true"}, False, id="lm-false-drops"
        ),
        pytest.param({"live_migratable": "false"}, {}, False, id="lm-false-untagged-dropped"),
        pytest.param({}, {"live_migratable": "true"}, True, id="lm-unasked-no-filter"),
    ],
)
def test_kind_match(spec: dict[str, JsonValue], props: dict[str, JsonValue], kept: bool) -> None:
    assert PoolFilter.of(request(spec)).kind_match(PoolKey.of(props)) is kept


def test_mixed_live_migratable_asks_filter_nothing() -> None:
    req = request({"live_migratable": "true"}, {"live_migratable": "false"})
    assert PoolFilter.of(req).kind_match(PoolKey.of({}))


@pytest.mark.parametrize(
    ("spec", "kept"),
    [
        pytest.param({"live_migratable": "true"}, ["lm"], id="true"),
        pytest.param({"live_migratable": "false"}, ["nolm"], id="false"),
        pytest.param({}, ["notag", "lm", "nolm"], id="unasked-fewer-keys-first"),
    ],
)
def test_live_migratable_step_on_pools(spec: dict[str, JsonValue], kept: list[str]) -> None:
    names = {"2330": "lm", "2331": "nolm", "2332": "notag"}
    devices = [
        device(f"0000:0{i}:00.0", product, DevType.PCI, vendor="10de")
        for i, product in enumerate(names)
    ]
    pools = pools_of(GPU_SPECS, devices, host=HOST)
    result = filter_pools(pools.pools, request({"vendor_id": "10de", **spec}))
    assert [names[str(p.key.props["product_id"])] for p in result or []] == kept


# -- NUMA on pools (§3.3) ---------------------------------------------------------------


def numa_host() -> PciPools:
    cells = (NumaCell(0, socket=0), NumaCell(1, socket=0), NumaCell(2, socket=1))
    return pools_of(
        SPECS,
        [
            device("0000:03:00.2", "101e", DevType.VF, parent=PF0, numa=0),
            device("0000:81:00.2", "101e", DevType.VF, parent=PF1, numa=1),
            device("0000:82:00.2", "101e", DevType.VF, parent="0000:82:00.0", numa=None),
            device("0000:83:00.2", "101e", DevType.VF, parent="0000:83:00.0", numa=2),
        ],
        host=HOST,
        host_cells=cells,
    )


@pytest.mark.parametrize(
    ("policy", "count", "addresses"),
    [
        pytest.param(None, 1, [PF0], id="unset-is-legacy-local"),
        pytest.param(None, 2, [PF0, "0000:82:00.0"], id="unset-is-legacy-with-unknown"),
        pytest.param(NumaPolicy.LEGACY, 3, None, id="legacy-never-remote"),
        pytest.param(NumaPolicy.REQUIRED, 2, None, id="required-short"),
        pytest.param(NumaPolicy.SOCKET, 2, [PF0, PF1], id="socket"),
        pytest.param(
            NumaPolicy.PREFERRED,
            4,
            [PF0, "0000:82:00.0", PF1, "0000:83:00.0"],
            id="preferred-near-first",
        ),
    ],
)
def test_numa_step_on_pools(
    policy: NumaPolicy | None, count: int, addresses: list[str] | None
) -> None:
    req = request(DIRECT_PORT, count=count, numa_policy=policy)
    kept = chosen(numa_host(), req, cells=[NumaCell(0)])
    assert kept == (None if addresses is None else [f"type-VF@{a}" for a in addresses])


# -- placement RPs (§3.4) -----------------------------------------------------------------


def rp_host() -> PciPools:
    pools = pools_of(
        SPECS,
        [
            device("0000:03:00.2", "101e", DevType.VF, parent=PF0),
            device("0000:03:00.3", "101e", DevType.VF, parent=PF0),
            device("0000:81:00.2", "101e", DevType.VF, parent=PF1),
            device("0000:05:00.0", "1572", DevType.PCI, vendor="8086"),
        ],
        host=HOST,
    )
    pools.assign_rp_uuids({PF0: "rp-a", PF1: "rp-b"})
    return pools


@pytest.mark.parametrize(
    ("rp_uuids", "kept"),
    [
        pytest.param(["rp-a"], ["type-VF@0000:03:00.0"], id="one-rp"),
        pytest.param(["rp-a", "rp-a"], ["type-VF@0000:03:00.0"], id="rp-twice-fits"),
        pytest.param(["rp-b", "rp-b"], None, id="rp-twice-too-few"),
        pytest.param(["rp-c"], None, id="unknown-rp"),
    ],
)
def test_placement_step(rp_uuids: list[str], kept: list[str] | None) -> None:
    req = request({"vendor_id": "15b3"}, count=len(rp_uuids), alias_name="a1")
    assert chosen(rp_host(), req, rp_uuids=rp_uuids) == kept


def test_pools_without_an_rp_are_dropped_when_placement_allocated() -> None:
    req = request({}, alias_name="a1")
    assert chosen(rp_host(), req, rp_uuids=["rp-a"]) == ["type-VF@0000:03:00.0"]


@pytest.mark.parametrize(
    ("req", "mapping", "rps"),
    [
        pytest.param(
            PciRequest(1, ({"rp_uuids": "x"},), "r1"), {"r1-0": ["y"]}, [], id="port-ignores"
        ),
        pytest.param(
            PciRequest(2, ({},), "r1", alias_name="a"),
            {"r1-0": ["x", "z"], "r1-1": ["y"], "r2-0": ["w"]},
            ["x", "y"],
            id="mapping-first-rp-per-group",
        ),
        pytest.param(
            PciRequest(2, ({"rp_uuids": "x,y"},), "r1", alias_name="a"),
            None,
            ["x", "y"],
            id="spec-comma-separated",
        ),
        pytest.param(PciRequest(1, ({},), "r1", alias_name="a"), None, [], id="none-at-all"),
    ],
)
def test_request_rp_uuids(
    req: PciRequest, mapping: dict[str, list[str]] | None, rps: list[str]
) -> None:
    assert request_rp_uuids(req, mapping) == rps
