"""A libvirt node-device XML document (`virNodeDevice.XMLDesc()`): its `<device>` root."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from offpath.errors import NodeDevXmlError


def device_root(xml: str) -> ET.Element:
    """The `<device>` element of a node-device document; NodeDevXmlError otherwise."""
    try:
        # libvirt's own output on the local host: a hardened parser buys nothing.
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError) as exc:
        raise NodeDevXmlError(f"not well-formed XML: {exc}") from exc
    if root.tag != "device":
        raise NodeDevXmlError(f"the root element is <{root.tag}>, not <device>")
    return root
