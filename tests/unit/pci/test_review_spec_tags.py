"""Review: a JSON null boolean tag is no value, as in Nova (checked against nova 34.0.0).

Nova normalises `managed`, `live_migratable` and `one_time_use` only when the
value is not None, so `{"managed": null}` is a valid spec there; offpath
refused it, so an existing nova.conf failed to load. `remote_managed` and
`trusted` (decision D3) follow the same rule: null is absent, not a value
to parse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offpath.pci.device import DevType, PciDevice
from offpath.pci.pool_key import pool_key
from offpath.pci.spec import STRICT_BOOL_TAGS, parse_spec


@pytest.mark.parametrize("tag", STRICT_BOOL_TAGS)
def test_d3_a_null_boolean_tag_is_kept_as_null(tmp_path: Path, tag: str) -> None:
    spec = parse_spec(
        {"vendor_id": "15b3", tag: None}, index=0, sysfs_root=tmp_path, report_in_placement=False
    )
    assert dict(spec.tags) == {tag: None}


def test_d3_a_null_remote_managed_spec_is_not_remote_managed(tmp_path: Path) -> None:
    spec = parse_spec({"remote_managed": None}, index=0, sysfs_root=tmp_path)
    assert spec.remote_managed is False


def test_a_null_remote_managed_vf_pool_defaults_to_false(tmp_path: Path) -> None:
    spec = parse_spec({"remote_managed": None}, index=0, sysfs_root=tmp_path)
    vf = PciDevice(
        address="0000:03:00.2",
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VF,
        parent_addr="0000:03:00.0",
    )
    assert pool_key(vf, spec.pool_tags()).props["remote_managed"] == "false"


def test_a_null_one_time_use_needs_no_placement(tmp_path: Path) -> None:
    spec = parse_spec(
        {"one_time_use": None}, index=0, sysfs_root=tmp_path, report_in_placement=False
    )
    assert spec.tags["one_time_use"] is None
