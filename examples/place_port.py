"""Place one remote-managed port on a (simulated) host, end to end through the pure core.

Discovery -> device specs select devices -> pools -> PCI request from the port -> claim ->
binding profile for the DPU backend -> os-vif object -> guest interface XML
-> which plug events the spawn waits for. No database, no HTTP: what the
compute agent will do for each port, shown step by step.

    python examples/place_port.py SYSFS_ROOT NOVA_CONF
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from offpath.config import load_pci_config
from offpath.pci.address import PciAddress
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.pools import PciPools
from offpath.pci.selection import select_devices
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.events import EventSettings, Operation, wait_plan
from offpath.ports.guest_interface import HostdevInterface, interface_xml
from offpath.ports.network import Network
from offpath.ports.osvif import os_vif_object
from offpath.ports.pci_request import request_from_port
from offpath.ports.port import Port
from offpath.ports.profile import profile_for_device
from offpath.ports.vif import Vif, VifNetwork
from offpath.ports.vnic import VnicType

PORT_ID = "5a3b8a43-0f0e-4c8e-9a52-3f4c2d1e7b10"
PORT_MAC = "fa:16:3e:f0:a4:bb"
NETWORK_ID = "0b6a1b5e-7c1d-4d8f-8f2a-6c9d1e2f3a4b"


def main(sysfs_root: Path, nova_conf: Path) -> None:
    """Walk one remote-managed port through placement and binding, printing each step."""
    config = load_pci_config([nova_conf])
    specs = DeviceSpecList.from_values(config.device_spec, sysfs_root=sysfs_root)
    devices = discover_sysfs(sysfs_root)
    # The specs are matched once, here at discovery; pools never read sysfs again.
    selected = {one.device.address: one for one in select_devices(devices, specs)}
    pools = PciPools.build(selected.values(), host="compute-dpu-01")
    print(f"discovered {len(devices)} PCI functions; {pools.free_count} free in pools")

    network = Network(id=NETWORK_ID, network_type="geneve")
    port = Port(id=PORT_ID, network_id=network.id, vnic_type=VnicType.REMOTE_MANAGED)
    request = request_from_port(port, network)
    assert request is not None  # a remote-managed port always needs a VF
    print(f"PCI request: count={request.count} spec={json.dumps(request.spec[0])}")
    print(f"host can serve it: {pools.support([request])}")

    (vf,) = pools.consume([request])
    # consume only hands out devices a spec selected
    spec = next(spec for spec in specs if spec.index == selected[vf.address].spec_index)
    card = vf.card_serial_number
    print(f"claimed {vf.address} (VF {vf.vf_num} of PF {vf.parent_addr}, card {card})")

    profile = profile_for_device(port, vf, spec)
    print(f"binding:profile = {json.dumps(profile, indent=2)}")

    vif = Vif(
        id=port.id,
        address=PORT_MAC,
        network=VifNetwork(id=network.id),
        vif_type="ovs",
        vnic_type=port.vnic_type,
        profile=profile,
        active=False,
    )
    plug = os_vif_object(vif)
    assert plug is not None  # vif type ovs always converts
    print(f"os-vif: {type(plug).__name__} plugin={plug.plugin} dev_address={plug.dev_address}")
    guest = HostdevInterface(mac=PORT_MAC, address=PciAddress.parse(vf.address))
    print(f"guest: {interface_xml(guest)}")
    plan = wait_plan(Operation.SPAWN, [vif], EventSettings(), backend_confirms=False)
    print(f"spawn waits for plug events: {[e.tag for e in plan.events] or 'none'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
