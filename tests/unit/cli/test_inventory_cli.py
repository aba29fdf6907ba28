"""`offpath inventory`: which devices offpath can use, and why not; JSON and exit codes."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from offpath.cli.main import run
from offpath.pci.discovery.nodedev_xml import nodedev_xml_for
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.sim.faults import parse_fault
from offpath.sim.host import SimHost, write_host
from offpath.sim.profile import load_profile

EXAMPLE = Path(__file__).parents[3] / "examples" / "bluefield2-nova.conf"
JSON_KEYS = {
    "address",
    "dev_type",
    "vendor_id",
    "product_id",
    "parent_addr",
    "numa_node",
    "vf_num",
    "pf_mac_address",
    "card_serial_number",
    "netdev",
    "driver",
    "spec_index",
    "tags",
    "usable",
    "reason",
}


def offpath(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["offpath", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def bluefield2(tmp_path: Path, *faults: str) -> SimHost:
    """A simulated BlueField-2 host, 3 VFs per PF, named compute-dpu-01."""
    return write_host(
        load_profile("bluefield2"),
        tmp_path / "sys",
        vfs=3,
        hostname="compute-dpu-01",
        faults=[parse_fault(f) for f in faults],
    )


def inventory_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    *extra: str,
) -> dict[str, object]:
    """`offpath inventory --json` of `root` with the example config."""
    code, out, err = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(root),
        "--config-file",
        str(EXAMPLE),
        "--json",
        *extra,
    )
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


def devices(document: dict[str, object]) -> dict[str, dict[str, object]]:
    """The `devices` of an inventory document, by address."""
    listed = document["devices"]
    assert isinstance(listed, list)
    return {d["address"]: d for d in listed}


def test_the_example_config_makes_the_vfs_usable_as_remote_managed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    found = devices(inventory_json(capsys, monkeypatch, host.root))
    assert {
        (found[str(vf.address)]["usable"], found[str(vf.address)]["spec_index"]) for vf in host.vfs
    } == {(True, 0)}
    assert {found[str(vf.address)]["tags"]["remote_managed"] for vf in host.vfs} == {"true"}  # type: ignore[index]


def test_the_example_config_keeps_the_pfs_out_of_remote_managed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    found = devices(inventory_json(capsys, monkeypatch, host.root))
    assert [
        (found[str(pf.address)]["spec_index"], found[str(pf.address)]["tags"]) for pf in host.pfs
    ] == [(1, {"physical_network": "physnet-dpu", "remote_managed": "false"})] * 2


def test_a_pf_without_vpd_makes_its_vfs_unusable_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path, "no-vpd")
    found = devices(inventory_json(capsys, monkeypatch, host.root))
    pf = host.pfs[0]
    assert [
        (found[str(vf.address)]["usable"], found[str(vf.address)]["reason"]) for vf in pf.vfs
    ] == [
        (
            False,
            f"remote_managed spec #0 rejected {vf.address}: no card serial number in its VPD "
            f"nor in its PF's (PF {pf.address} has no VPD)",
        )
        for vf in pf.vfs
    ]


def test_the_other_pfs_vfs_stay_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path, "no-vpd")
    found = devices(inventory_json(capsys, monkeypatch, host.root))
    assert {found[str(vf.address)]["usable"] for vf in host.pfs[1].vfs} == {True}


def test_the_json_document_has_exactly_the_contract_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    document = inventory_json(capsys, monkeypatch, bluefield2(tmp_path).root)
    assert set(document) == {"host", "devices"}
    assert {frozenset(d) for d in devices(document).values()} == {frozenset(JSON_KEYS)}


def test_a_vf_row_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    pf, vf = host.pfs[0], host.pfs[0].vfs[1]
    assert devices(inventory_json(capsys, monkeypatch, host.root))[str(vf.address)] == {
        "address": str(vf.address),
        "dev_type": "type-VF",
        "vendor_id": "15b3",
        "product_id": "101e",
        "parent_addr": str(pf.address),
        "numa_node": 0,
        "vf_num": 1,
        "pf_mac_address": pf.mac,
        "card_serial_number": pf.card_serial,
        "netdev": vf.ifname,
        "driver": "mlx5_core",
        "spec_index": 0,
        "tags": {"physical_network": None, "remote_managed": "true"},
        "usable": True,
        "reason": None,
    }


def test_the_host_is_the_simulated_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    document = inventory_json(capsys, monkeypatch, bluefield2(tmp_path).root)
    assert document["host"] == "compute-dpu-01"


def test_without_a_manifest_the_host_is_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    (host.root / "offpath-sim.json").unlink()
    document = inventory_json(capsys, monkeypatch, host.root)
    assert document["host"] == socket.gethostname()


def test_only_network_functions_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    found = devices(inventory_json(capsys, monkeypatch, host.root))
    assert str(host.cards[0].root_port) not in found and len(found) == 8


def test_without_config_nothing_is_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = bluefield2(tmp_path).root
    code, out, _ = offpath(capsys, monkeypatch, "inventory", "--sysfs-root", str(root), "--json")
    assert code == 0
    assert {(d["usable"], d["reason"]) for d in devices(json.loads(out)).values()} == {
        (False, "no [pci] device_spec is configured")
    }


def test_the_table_groups_by_card_and_pf_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path, "no-vpd")
    code, out, _ = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(host.root),
        "--config-file",
        str(EXAMPLE),
    )
    assert code == 0
    assert f"card without a serial number · PF {host.pfs[0].address}" in out
    assert f"card {host.pfs[1].card_serial} · PF {host.pfs[1].address}" in out
    assert f"remote_managed spec #0 rejected {host.pfs[0].vfs[0].address}" in out
    assert "8 device(s): 5 usable (3 as remote-managed), 3 not usable" in out


def test_the_libvirt_source_gives_the_same_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path, "no-vpd")
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(nodedev_xml_for(discover_sysfs(host.root)), encoding="utf-8")
    from_sysfs = inventory_json(capsys, monkeypatch, host.root)
    from_libvirt = inventory_json(
        capsys, monkeypatch, host.root, "--source", "libvirt", "--libvirt-uri", f"test://{node_xml}"
    )
    # libvirt's test driver drops <driver>; everything else must agree.
    assert without_driver(from_libvirt) == without_driver(from_sysfs)


def without_driver(document: dict[str, object]) -> dict[str, dict[str, object]]:
    """The devices of a document with `driver` blanked."""
    return {address: {**d, "driver": None} for address, d in devices(document).items()}


def test_a_missing_sysfs_root_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = offpath(
        capsys, monkeypatch, "inventory", "--sysfs-root", str(tmp_path / "absent")
    )
    assert (code, out) == (2, "")
    assert err.startswith(
        f"error [pci.sysfs.root]: sysfs root {tmp_path / 'absent'}: no such directory"
    )


def test_a_bad_device_spec_names_file_line_key_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = bluefield2(tmp_path)
    conf = tmp_path / "nova.conf"
    conf.write_text('[pci]\ndevice_spec = {"vendor_id": "15b3", "remote_managed": "maybe"}\n')
    code, _, err = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(host.root),
        "--config-file",
        str(conf),
    )
    assert code == 2
    assert err.startswith(
        f"error [config.value]: {conf}:2: [pci] device_spec = "
        '\'{"vendor_id": "15b3", "remote_managed": "maybe"}\': spec #0: '
        "Invalid [pci]device_spec config: Cannot parse tag 'remote_managed'"
    )


def test_a_missing_config_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = bluefield2(tmp_path).root
    code, _, err = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(root),
        "--config-file",
        str(tmp_path / "absent.conf"),
    )
    assert code == 2 and err.startswith("error [config.file]")


def test_an_unreachable_libvirt_is_exit_5_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = bluefield2(tmp_path).root
    uri = f"test://{tmp_path}/absent.xml"
    code, _, err = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(root),
        "--source",
        "libvirt",
        "--libvirt-uri",
        uri,
    )
    assert code == 5 and err.startswith(f"error [libvirt.unavailable]: libvirt at {uri}")
