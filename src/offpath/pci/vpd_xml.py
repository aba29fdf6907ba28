"""VPD as libvirt shows it: the `<capability type='vpd'>` of a PCI node device, both ways.

libvirt writes (``virsh nodedev-dumpxml``)::

    <capability type='vpd'>
      <name>card name</name>
      <fields access='readonly'>
        <change_level>..</change_level> <manufacture_id>..</manufacture_id>
        <part_number>..</part_number> <serial_number>..</serial_number>
        <vendor_field index='X'>..</vendor_field>
      </fields>
      <fields access='readwrite'>
        <asset_tag>..</asset_tag> <vendor_field index='X'>..</vendor_field>
        <system_field index='X'>..</system_field>
      </fields>
    </capability>

libvirt drops the FG, LC and PG keywords, and shows VPD only when it passed
its checks (RV checksum included), so a record read from XML has checksum
VALID when it has a read-only section.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from xml.sax.saxutils import escape

from offpath.errors import NodeDevXmlError
from offpath.pci.nodedev_document import device_root
from offpath.pci.vpd import ChecksumStatus, VpdRecord

# Read-only field elements in libvirt's order, and the VpdRecord attribute each fills.
_READONLY_ELEMENTS = (
    ("change_level", "change_level"),
    ("manufacture_id", "manufacture_id"),
    ("part_number", "part_number"),
    ("serial_number", "serial_number"),
)


def vpd_from_nodedev_xml(xml: str) -> VpdRecord | None:
    """The VPD of a node device's `<capability type='pci'>`; None when it has none."""
    for capability in device_root(xml).iterfind("capability[@type='pci']"):
        vpd = capability.find("capability[@type='vpd']")
        if vpd is not None:
            return vpd_from_capability(vpd)
    return None


def vpd_from_capability(element: ET.Element) -> VpdRecord:
    """The VpdRecord of one `<capability type='vpd'>` element."""
    if element.tag != "capability" or element.get("type") != "vpd":
        raise NodeDevXmlError(
            f"expected <capability type='vpd'>, got <{element.tag} type={element.get('type')!r}>"
        )
    name = element.find("name")
    texts: dict[str, str] = {}
    ro_vendor: dict[str, str] = {}
    rw_vendor: dict[str, str] = {}
    rw_system: dict[str, str] = {}
    has_readonly = False
    for fields in element.iterfind("fields"):
        access = fields.get("access")
        if access == "readonly":
            has_readonly = True
            for tag, attribute in _READONLY_ELEMENTS:
                found = fields.find(tag)
                if found is not None:
                    texts[attribute] = found.text or ""
            _collect_indexed(fields, "vendor_field", ro_vendor)
        elif access == "readwrite":
            asset_tag = fields.find("asset_tag")
            if asset_tag is not None:
                texts["asset_tag"] = asset_tag.text or ""
            _collect_indexed(fields, "vendor_field", rw_vendor)
            _collect_indexed(fields, "system_field", rw_system)
    return VpdRecord(
        card_name=None if name is None else name.text or "",
        part_number=texts.get("part_number"),
        change_level=texts.get("change_level"),
        manufacture_id=texts.get("manufacture_id"),
        serial_number=texts.get("serial_number"),
        ro_vendor_fields=ro_vendor,
        asset_tag=texts.get("asset_tag"),
        rw_vendor_fields=rw_vendor,
        rw_system_fields=rw_system,
        checksum=ChecksumStatus.VALID if has_readonly else ChecksumStatus.ABSENT,
    )


def vpd_to_capability_xml(record: VpdRecord) -> str:
    """The `<capability type='vpd'>` libvirt shows for `record` (FG, LC, PG and damage left out)."""
    lines = ["<capability type='vpd'>"]
    if record.card_name is not None:
        lines.append(f"  <name>{escape(record.card_name)}</name>")
    readonly = [
        _element(tag, value)
        for tag, attribute in _READONLY_ELEMENTS
        if (value := getattr(record, attribute)) is not None
    ]
    readonly += _indexed("vendor_field", record.ro_vendor_fields)
    if readonly or record.checksum is ChecksumStatus.VALID:
        lines += ["  <fields access='readonly'>", *readonly, "  </fields>"]
    readwrite = [] if record.asset_tag is None else [_element("asset_tag", record.asset_tag)]
    readwrite += _indexed("vendor_field", record.rw_vendor_fields)
    readwrite += _indexed("system_field", record.rw_system_fields)
    if readwrite:
        lines += ["  <fields access='readwrite'>", *readwrite, "  </fields>"]
    lines.append("</capability>")
    return "\n".join(lines)


def _collect_indexed(fields: ET.Element, tag: str, into: dict[str, str]) -> None:
    for found in fields.iterfind(tag):
        index = found.get("index")
        # Like Nova: a custom field without an index cannot be keyed, so it is skipped.
        if index:
            into[index] = found.text or ""


def _element(tag: str, value: str) -> str:
    return f"    <{tag}>{escape(value)}</{tag}>"


def _indexed(tag: str, values: Mapping[str, str]) -> list[str]:
    return [
        f"    <{tag} index={_attribute(index)}>{escape(value)}</{tag}>"
        for index, value in values.items()
    ]


def _attribute(value: str) -> str:
    """`value` quoted the way libvirt quotes attributes (single quotes)."""
    return "'" + escape(value, {"'": "&apos;", '"': "&quot;"}) + "'"
