"""Discovery from libvirt node device XML: the same PciDevice records as from sysfs.

Nova reads PCI node devices (`virsh nodedev-dumpxml`): the
`pci` capability gives ids, address, NUMA node, IOMMU group, VPD and the
SR-IOV links (`virt_functions`, `phys_function`); a `net` node device whose
parent is a PCI function gives its interface, MAC and offload features; a
`vdpa` node device whose parent is a VF makes that VF a vDPA device.

Unlike Nova, which falls back to sysfs for the PF's interface, its MAC and
the VF number, this reader takes them from the node devices alone: the PF's
net child, and the VF's position in the PF's `virt_functions` list (libvirt
lists them in `virtfnN` order). Where the two sources differ:

* `eswitch_mode`: libvirt only says "switchdev" (a `switchdev` feature on
  the PF's netdev); a legacy eswitch reads as None.
* `network_caps`: libvirt has them (`<feature name=...>`), sysfs does not.
* `vpd`: libvirt drops the FG, LC and PG keywords and shows no VPD at all
  when it fails its checks, where sysfs salvage keeps a trusted serial.
* `notes`: libvirt hides the problems that sysfs notes (damaged VPD, an
  unreadable file), so records from here rarely carry any.

`nodedev_xml_for` writes the `<node>` document that libvirt's test driver
(`test:///path/to/node.xml`) serves for a set of records, so one host can
be read through both readers and the results compared.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

from offpath.errors import NodeDevXmlError, OffpathError
from offpath.pci.device import DevType, PciDevice
from offpath.pci.nodedev_document import device_root
from offpath.pci.vpd import VpdRecord
from offpath.pci.vpd_xml import vpd_from_capability, vpd_to_capability_xml

SWITCHDEV: Final = "switchdev"
_MAX_FIELD: Final = {"domain": 0xFFFFFFFF, "bus": 0xFF, "slot": 0x1F, "function": 0x7}


@dataclass(frozen=True, slots=True)
class PciCapability:
    """The `<capability type='pci'>` of a node device."""

    address: str
    vendor_id: str
    product_id: str
    device_class: str | None = None
    numa_node: int | None = None
    iommu_group: int | None = None
    # None: no virt_functions capability, so not a PF.
    virt_functions: tuple[str, ...] | None = None
    max_vfs: int | None = None
    phys_function: str | None = None
    vpd: VpdRecord | None = None
    vpd_problem: str | None = None


@dataclass(frozen=True, slots=True)
class NetCapability:
    """The `<capability type='net'>` of a node device."""

    interface: str
    mac: str | None = None
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeDevice:
    """One libvirt node device, reduced to what discovery reads."""

    name: str
    parent: str | None = None
    driver: str | None = None
    pci: PciCapability | None = None
    net: NetCapability | None = None
    vdpa: bool = False


def nodedev_name(address: str) -> str:
    """libvirt's node device name of a PCI address (`0000:82:00.0` -> `pci_0000_82_00_0`)."""
    return "pci_" + address.replace(":", "_").replace(".", "_")


def parse_nodedev(xml: str) -> NodeDevice:
    """One `<device>` document as `virNodeDevice.XMLDesc()` returns it."""
    root = device_root(xml)
    name = _text(root.find("name"))
    if not name:
        raise NodeDevXmlError("a <device> without a <name>")
    pci: PciCapability | None = None
    net: NetCapability | None = None
    vdpa = False
    for capability in root.iterfind("capability"):
        kind = capability.get("type")
        if kind == "pci":
            pci = _pci_capability(name, capability)
        elif kind == "net":
            net = _net_capability(name, capability)
        elif kind == "vdpa":
            vdpa = True
    driver = root.find("driver")
    return NodeDevice(
        name=name,
        parent=_text(root.find("parent")) or None,
        driver=_text(driver.find("name")) or None if driver is not None else None,
        pci=pci,
        net=net,
        vdpa=vdpa,
    )


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _number(text: str | None, what: str, device: str) -> int:
    value = (text or "").strip()
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        raise NodeDevXmlError(f"{device}: {what} is {value!r}, not a number") from None


def _address_of(fields: Mapping[str, str | None], device: str) -> str:
    values: dict[str, int] = {}
    for key, maximum in _MAX_FIELD.items():
        number = _number(fields.get(key), key, device)
        if not 0 <= number <= maximum:
            raise NodeDevXmlError(f"{device}: {key} {number:#x} is out of range")
        values[key] = number
    return f"{values['domain']:04x}:{values['bus']:02x}:{values['slot']:02x}.{values['function']:x}"


def _attr_address(element: ET.Element, device: str) -> str:
    return _address_of({key: element.get(key) for key in _MAX_FIELD}, device)


def _hex_id(element: ET.Element | None, what: str, device: str) -> str:
    if element is None:
        raise NodeDevXmlError(f"{device}: the pci capability has no <{what}>")
    number = _number(element.get("id"), f"{what} id", device)
    if not 0 <= number <= 0xFFFF:
        raise NodeDevXmlError(f"{device}: {what} id {number:#x} is out of range")
    return f"{number:04x}"


def _pci_capability(device: str, capability: ET.Element) -> PciCapability:
    address = _address_of({key: _text(capability.find(key)) for key in _MAX_FIELD}, device)
    numa = capability.find("numa")
    numa_node = _number(numa.get("node"), "numa node", device) if numa is not None else None
    iommu = capability.find("iommuGroup")
    klass = _text(capability.find("class")).lower().removeprefix("0x")
    virt_functions: tuple[str, ...] | None = None
    max_vfs: int | None = None
    phys_function: str | None = None
    vpd: VpdRecord | None = None
    vpd_problem: str | None = None
    for nested in capability.iterfind("capability"):
        kind = nested.get("type")
        if kind == "virt_functions":
            virt_functions = tuple(_attr_address(a, device) for a in nested.iterfind("address"))
            count = nested.get("maxCount")
            max_vfs = _number(count, "maxCount", device) if count is not None else None
        elif kind == "phys_function":
            found = nested.find("address")
            if found is not None:
                phys_function = _attr_address(found, device)
        elif kind == "vpd":
            try:
                vpd = vpd_from_capability(nested)
            except OffpathError as exc:
                vpd_problem = f"its VPD is unusable: {exc.message}"
    return PciCapability(
        address=address,
        vendor_id=_hex_id(capability.find("vendor"), "vendor", device),
        product_id=_hex_id(capability.find("product"), "product", device),
        device_class=klass or None,
        numa_node=None if numa_node is None or numa_node < 0 else numa_node,
        iommu_group=(
            _number(iommu.get("number"), "iommuGroup number", device) if iommu is not None else None
        ),
        virt_functions=virt_functions,
        max_vfs=max_vfs,
        phys_function=phys_function,
        vpd=vpd,
        vpd_problem=vpd_problem,
    )


def _net_capability(device: str, capability: ET.Element) -> NetCapability:
    interface = _text(capability.find("interface"))
    if not interface:
        raise NodeDevXmlError(f"{device}: the net capability has no <interface>")
    return NetCapability(
        interface=interface,
        mac=_text(capability.find("address")).lower() or None,
        features=tuple(f.get("name") or "" for f in capability.iterfind("feature")),
    )


def devices_from_nodedevs(
    nodedevs: Iterable[NodeDevice], *, unreadable: Mapping[str, str] | None = None
) -> tuple[PciDevice, ...]:
    """One PciDevice per PCI node device, by address.

    `unreadable` maps node device names whose XML could not be had to why;
    those named like a PCI function become excluded records, the others stay.
    """
    pcis: dict[str, tuple[NodeDevice, PciCapability]] = {}
    nets: dict[str, NetCapability] = {}
    vdpa_parents: dict[str, str] = {}
    for node in nodedevs:
        if node.pci is not None:
            pcis[node.pci.address] = (node, node.pci)
        elif node.net is not None and node.parent:
            # Several netdevs on one function (representors): keep one, by name.
            known = nets.get(node.parent)
            if known is None or node.net.interface < known.interface:
                nets[node.parent] = node.net
        elif node.vdpa and node.parent:
            vdpa_parents[node.parent] = node.name.removeprefix("vdpa_")
    found = {
        address: _device(node, pci, pcis=pcis, nets=nets, vdpa_parents=vdpa_parents)
        for address, (node, pci) in pcis.items()
    }
    for name, reason in (unreadable or {}).items():
        address = _address_from_name(name)
        if address is not None and address not in found:
            found[address] = PciDevice(
                address=address,
                vendor_id="",
                product_id="",
                dev_type=DevType.PCI,
                exclusion=f"libvirt cannot describe it: {reason}",
            )
    return tuple(found[address] for address in sorted(found))


def _address_from_name(name: str) -> str | None:
    parts = name.split("_")
    if len(parts) != 5 or parts[0] != "pci":
        return None
    try:
        return _address_of(
            {key: "0x" + part for key, part in zip(_MAX_FIELD, parts[1:], strict=True)}, name
        )
    except NodeDevXmlError:
        return None


def _device(
    node: NodeDevice,
    pci: PciCapability,
    *,
    pcis: Mapping[str, tuple[NodeDevice, PciCapability]],
    nets: Mapping[str, NetCapability],
    vdpa_parents: Mapping[str, str],
) -> PciDevice:
    net = nets.get(node.name)
    own_serial = pci.vpd.card_serial_number if pci.vpd else None
    notes: tuple[str, ...] = (pci.vpd_problem,) if pci.vpd_problem else ()
    dev_type = DevType.PCI
    parent = pci.phys_function
    pf_net: NetCapability | None = None
    pf_serial: str | None = None
    vf_num: int | None = None
    exclusion: str | None = None
    if pci.virt_functions is not None:
        dev_type = DevType.PF
        parent = None
    elif parent is not None:
        dev_type = DevType.VDPA if node.name in vdpa_parents else DevType.VF
        pf_node, pf_pci = pcis.get(parent, (None, None))
        pf_net = nets.get(pf_node.name) if pf_node else None
        pf_serial = pf_pci.vpd.card_serial_number if pf_pci and pf_pci.vpd else None
        if pf_pci is None:
            exclusion = f"its VF number is unknown: libvirt does not list its PF {parent}"
        elif pf_pci.virt_functions is None or pci.address not in pf_pci.virt_functions:
            exclusion = f"its VF number is unknown: its PF {parent} does not list it"
        else:
            vf_num = pf_pci.virt_functions.index(pci.address)
        if pf_net is None or pf_net.mac is None:
            notes += (f"the MAC address of its PF {parent} cannot be read: libvirt shows none",)
    serial = own_serial or pf_serial
    return PciDevice(
        address=pci.address,
        vendor_id=pci.vendor_id,
        product_id=pci.product_id,
        dev_type=dev_type,
        device_class=pci.device_class,
        parent_addr=parent,
        numa_node=pci.numa_node,
        driver=node.driver,
        iommu_group=pci.iommu_group,
        netdev=net.interface if net else None,
        mac_address=net.mac if net else None,
        # Nova names the PF's netdev only for a VF that has a netdev itself.
        parent_ifname=pf_net.interface if pf_net and net else None,
        vf_num=vf_num,
        pf_mac_address=pf_net.mac if pf_net else None,
        card_serial_number=serial,
        vpd=pci.vpd,
        network_caps=net.features if net else (),
        eswitch_mode=(
            SWITCHDEV
            if dev_type is DevType.PF and net is not None and SWITCHDEV in net.features
            else None
        ),
        sriov_totalvfs=pci.max_vfs,
        sriov_numvfs=None if pci.virt_functions is None else len(pci.virt_functions),
        exclusion=exclusion,
        serial_source=(pci.address if own_serial else parent) if serial else None,
        vdpa_device=vdpa_parents.get(node.name) if dev_type is DevType.VDPA else None,
        notes=notes,
    )


def nodedev_xml_for(devices: Iterable[PciDevice], *, with_vdpa: bool = True) -> str:
    """The `<node>` document libvirt's test driver would serve for `devices`.

    Records without ids (excluded before they could be read) are left out;
    VPD is shown only when clean, as libvirt does; a PF's VFs are listed in
    `vf_num` order. libvirt 9.0's test driver rejects vDPA node devices, so
    `with_vdpa=False` leaves them out (the VF is then a plain VF).
    """
    records = [d for d in devices if d.vendor_id and d.product_id]
    children: dict[str, list[PciDevice]] = {}
    for device in records:
        if device.parent_addr and device.vf_num is not None:
            children.setdefault(device.parent_addr, []).append(device)
    lines = ["<node>"]
    for device in records:
        lines += _pci_device_xml(device, children.get(device.address, []))
        if device.netdev:
            lines += _net_device_xml(device)
        if with_vdpa and device.dev_type is DevType.VDPA:
            name = device.vdpa_device or "vdpa0"
            lines += [
                "  <device>",
                f"    <name>vdpa_{escape(name)}</name>",
                f"    <parent>{nodedev_name(device.address)}</parent>",
                "    <capability type='vdpa'>",
                f"      <chardev>/dev/vhost-vdpa-{escape(name.removeprefix('vdpa'))}</chardev>",
                "    </capability>",
                "  </device>",
            ]
    lines.append("</node>")
    return "\n".join(lines) + "\n"


def _address_parts(address: str) -> tuple[str, str, str, str]:
    """The hex domain, bus, slot and function of `dddd:bb:ss.f`."""
    domain, bus, rest = address.split(":")
    slot, function = rest.split(".")
    return domain, bus, slot, function


def _address_attrs(address: str) -> str:
    domain, bus, slot, function = _address_parts(address)
    return f"domain='0x{domain}' bus='0x{bus}' slot='0x{slot}' function='0x{function}'"


def _pci_device_xml(device: PciDevice, vfs: list[PciDevice]) -> list[str]:
    domain, bus, slot, function = _address_parts(device.address)
    parent = nodedev_name(device.parent_addr) if device.parent_addr else "computer"
    lines = [
        "  <device>",
        f"    <name>{nodedev_name(device.address)}</name>",
        f"    <parent>{parent}</parent>",
    ]
    if device.driver:
        lines.append(f"    <driver><name>{escape(device.driver)}</name></driver>")
    lines.append("    <capability type='pci'>")
    if device.device_class:
        lines.append(f"      <class>0x{device.device_class}</class>")
    lines += [
        f"      <domain>{int(domain, 16)}</domain>",
        f"      <bus>{int(bus, 16)}</bus>",
        f"      <slot>{int(slot, 16)}</slot>",
        f"      <function>{int(function, 16)}</function>",
        f"      <product id='0x{device.product_id}'/>",
        f"      <vendor id='0x{device.vendor_id}'/>",
    ]
    if device.dev_type is DevType.PF:
        total = device.sriov_totalvfs or 0
        lines.append(f"      <capability type='virt_functions' maxCount='{total}'>")
        for vf in sorted(vfs, key=lambda d: d.vf_num or 0):
            lines.append(f"        <address {_address_attrs(vf.address)}/>")
        lines.append("      </capability>")
    if device.parent_addr:
        lines += [
            "      <capability type='phys_function'>",
            f"        <address {_address_attrs(device.parent_addr)}/>",
            "      </capability>",
        ]
    if device.vpd is not None and not device.vpd.damage:
        lines += ["      " + line for line in vpd_to_capability_xml(device.vpd).splitlines()]
    if device.iommu_group is not None:
        lines += [
            f"      <iommuGroup number='{device.iommu_group}'>",
            f"        <address {_address_attrs(device.address)}/>",
            "      </iommuGroup>",
        ]
    if device.numa_node is not None:
        lines.append(f"      <numa node='{device.numa_node}'/>")
    lines += ["    </capability>", "  </device>"]
    return lines


def _net_device_xml(device: PciDevice) -> list[str]:
    interface = escape(device.netdev or "")
    mac = device.mac_address or ""
    features = list(device.network_caps)
    if device.eswitch_mode == SWITCHDEV and SWITCHDEV not in features:
        features.append(SWITCHDEV)
    lines = [
        "  <device>",
        f"    <name>net_{interface}_{mac.replace(':', '_')}</name>",
        f"    <parent>{nodedev_name(device.address)}</parent>",
        "    <capability type='net'>",
        f"      <interface>{interface}</interface>",
    ]
    if mac:
        lines.append(f"      <address>{escape(mac)}</address>")
    lines += [f"      <feature name='{escape(f)}'/>" for f in features]
    lines += ["      <capability type='80203'/>", "    </capability>", "  </device>"]
    return lines
