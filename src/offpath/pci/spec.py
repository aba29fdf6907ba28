"""One `[pci] device_spec` entry: parsing, validation and matching against a device.

Behaviour is Nova's (spec §1.3-1.7) with decisions D1-D3: PF ids are read
from the real sysfs files, a PF tagged remote-managed gets a message that
says what to do, and `remote_managed`/`trusted` are parsed strictly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from offpath.errors import (
    OffpathError,
    PciConfigInvalidSpec,
    PciDeviceInvalidDeviceName,
    PciDeviceInvalidPFRemoteManaged,
    PciDeviceRemoteManagedNotPresent,
)
from offpath.jsonvalue import JsonValue
from offpath.pci import sysfs
from offpath.pci.address import (
    ANY,
    AddressPattern,
    GlobPattern,
    PciAddress,
    PhysicalFunctionPattern,
    parse_address_pattern,
    parse_hex_field,
)
from offpath.pci.booleans import bool_word, strict_bool

# Tags normalised to "true"/"false". Nova normalises the first three; D3 adds
# remote_managed and trusted, whose loose spellings made devices unusable.
STRICT_BOOL_TAGS: Final = (
    "managed",
    "live_migratable",
    "one_time_use",
    "remote_managed",
    "trusted",
)
# Tags that only placement reads: never pool keys, never matched.
PLACEMENT_ONLY_TAGS: Final = frozenset({"resource_class", "traits"})

NO_SERIAL: Final = "no card serial number in its VPD nor in its PF's"
UNMATCHABLE: Final = "cannot be matched"


class MatchableDevice(Protocol):
    """The few facts of a device that spec matching reads."""

    @property
    def address(self) -> str: ...
    @property
    def vendor_id(self) -> str: ...
    @property
    def product_id(self) -> str: ...
    @property
    def parent_addr(self) -> str | None: ...
    @property
    def card_serial_number(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SpecVerdict:
    """Whether one spec selects one device, and why (or why not) in words."""

    index: int
    matched: bool
    reason: str

    def as_json(self) -> dict[str, JsonValue]:
        """One entry of a device's "tried" list in `inventory --explain --json`."""
        return {"spec_index": self.index, "matched": self.matched, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One parsed device spec.

    A devname is looked up again at every match (Nova's rule: the netdev may
    appear or move after start-up); `address` is what it resolved to when
    parsed, None when it resolved to nothing.
    """

    index: int
    vendor_id: str
    product_id: str
    address: AddressPattern | None
    devname: str | None
    tags: Mapping[str, JsonValue]
    source: str = field(compare=False)
    address_given: bool = False
    sysfs_root: Path | None = field(default=None, compare=False)

    @property
    def remote_managed(self) -> bool:
        """True when the spec tags its devices remote-managed."""
        return self.tags.get("remote_managed") == "true"

    @property
    def physical_network(self) -> str | None:
        """The physnet tag; None means overlay (tunnelled) networks."""
        value = self.tags.get("physical_network")
        return None if value is None else str(value)

    def pool_tags(self) -> dict[str, JsonValue]:
        """The tags that become pool keys (placement-only ones left out)."""
        return {k: v for k, v in self.tags.items() if k not in PLACEMENT_ONLY_TAGS}

    def as_json(self) -> dict[str, JsonValue]:
        """The spec as `devspec check --json` prints it (a contract)."""
        return {
            "index": self.index,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "address": (
                dict(self.address.as_json())
                if self.address is not None and (self.address_given or self.devname)
                else None
            ),
            "devname": self.devname,
            "tags": dict(self.tags),
            "remote_managed": self.remote_managed,
        }

    def describe(self) -> str:
        """A one-line, normalised rendering, as `devspec check` prints it."""
        parts = [f"vendor_id={self.vendor_id}", f"product_id={self.product_id}"]
        if self.devname is not None:
            where = self.address.describe() if self.address else "unresolved"
            parts.append(f"devname={self.devname} ({where})")
        elif self.address is not None and self.address_given:
            parts.append(f"address={self.address.describe()}")
        parts.extend(f"{k}={json.dumps(v)}" for k, v in sorted(self.tags.items()))
        return " ".join(parts)

    def verdict(self, device: MatchableDevice) -> SpecVerdict:
        """Whether this spec selects `device`, with the reason in words."""
        return SpecVerdict(self.index, *self._match(device))

    def matches(self, device: MatchableDevice) -> bool:
        """True when this spec selects `device`."""
        return self._match(device)[0]

    def _current_address(self) -> AddressPattern | None:
        if self.devname is None or self.sysfs_root is None:
            return self.address
        return devname_pattern(self.sysfs_root, self.devname)

    def _match(self, device: MatchableDevice) -> tuple[bool, str]:
        label = f"spec #{self.index}"
        pattern = self._current_address()
        if pattern is None:
            return False, f"{label}: devname {self.devname} is not present on this host"
        if self.vendor_id not in (ANY, device.vendor_id):
            return False, f"{label}: vendor_id {device.vendor_id} is not {self.vendor_id}"
        if self.product_id not in (ANY, device.product_id):
            return False, f"{label}: product_id {device.product_id} is not {self.product_id}"
        # Only a PF spec looks at the parent, so only then can a bad parent
        # address spoil the match (as in Nova).
        parent_text = device.parent_addr if isinstance(pattern, PhysicalFunctionPattern) else None
        try:
            address = PciAddress.parse(device.address)
            parent = PciAddress.parse(parent_text) if parent_text else None
        except OffpathError as exc:
            return False, f"{label}: {device.address} {UNMATCHABLE}: {exc.message}"
        if not pattern.matches(address, parent):
            return False, f"{label}: address {device.address} is not in {pattern.describe()}"
        if self.remote_managed and not device.card_serial_number:
            return False, f"remote_managed {label} rejected {device.address}: {NO_SERIAL}"
        return True, f"{label} matches"


def _json_text(value: object) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _id_field(name: str, value: str) -> str:
    return parse_hex_field(name, value, 0xFFFF, 4)


def parse_spec(
    spec: Mapping[str, JsonValue],
    *,
    index: int,
    sysfs_root: Path,
    report_in_placement: bool = False,
) -> DeviceSpec:
    """Build one DeviceSpec from a decoded JSON object, checking in Nova's order."""
    tags: dict[str, JsonValue] = dict(spec)
    source = _json_text(spec)
    vendor_id = str(tags.pop("vendor_id", ANY)).strip()
    product_id = str(tags.pop("product_id", ANY))
    vendor_id = _id_field("vendor_id", vendor_id)
    product_id = _id_field("product_id", product_id)

    devname_value = tags.pop("devname", None)
    address_value = tags.pop("address", None)
    if devname_value and address_value:
        raise PciDeviceInvalidDeviceName()
    if devname_value is not None and not isinstance(devname_value, str):
        raise PciConfigInvalidSpec(f"devname ({_json_text(devname_value)}) must be a string")
    devname = devname_value or None

    pattern: AddressPattern | None
    if devname is None:
        pattern = _address_pattern(address_value, sysfs_root)
    else:
        pattern = devname_pattern(sysfs_root, devname)

    # Every tag value is checked before the checks that combine them. Nova
    # decides remote_managed leniently; with D3 the accepted words are the
    # same, and any other value is refused here.
    for tag in STRICT_BOOL_TAGS:
        # A JSON null is no value, left as is, as Nova leaves it.
        if tags.get(tag) is not None:
            try:
                tags[tag] = bool_word(strict_bool(tags[tag]))
            except ValueError as exc:
                raise PciConfigInvalidSpec(
                    f"Cannot parse tag '{tag}': {exc}",
                    hint=f'in the spec {source}, write "{tag}": "true" or "false"',
                ) from exc
    if tags.get("one_time_use") == "true" and not report_in_placement:
        raise PciConfigInvalidSpec(
            "one_time_use=true requires pci.report_in_placement to be enabled"
        )
    if tags.get("remote_managed") == "true" and devname is not None and pattern is None:
        raise PciDeviceRemoteManagedNotPresent(devname)

    built = DeviceSpec(
        index=index,
        vendor_id=vendor_id,
        product_id=product_id,
        address=pattern,
        devname=devname,
        tags=tags,
        source=source,
        address_given=address_value is not None,
        sysfs_root=sysfs_root,
    )
    if built.remote_managed and isinstance(pattern, PhysicalFunctionPattern):
        _check_remote_managed_pf(built, pattern.pf, sysfs_root)
    return built


def devname_pattern(sysfs_root: Path, devname: str) -> AddressPattern | None:
    """What `devname` selects now: its PF and the PF's VFs, or its one function; None if absent."""
    netdev = sysfs.function_by_ifname(sysfs_root, devname)
    if netdev is None:
        return None
    if netdev.is_pf:
        return PhysicalFunctionPattern(netdev.address)
    return GlobPattern.parse(str(netdev.address))


def _address_pattern(value: JsonValue, sysfs_root: Path) -> AddressPattern:
    pattern = parse_address_pattern("*:*:*.*" if value is None else value)
    single = pattern.single_address()
    if single is not None and sysfs.is_physical_function(sysfs_root, single):
        # Decision D1: the PF's address comes from the parsed fields, never
        # from the pattern object's text.
        return PhysicalFunctionPattern(single)
    return pattern


def _check_remote_managed_pf(spec: DeviceSpec, pf: PciAddress, sysfs_root: Path) -> None:
    """Accept a remote-managed spec naming a PF only when it selects that PF's VFs."""
    vf_product = sysfs.vf_product_id(sysfs_root, pf)
    pf_vendor, pf_product = sysfs.pci_ids(sysfs_root, pf)
    vendor_ok = spec.vendor_id in (ANY, pf_vendor)
    if spec.product_id == vf_product and vendor_ok:
        return
    if spec.product_id in (ANY, pf_product) and vendor_ok:
        raise PciDeviceInvalidPFRemoteManaged(str(pf), vf_product_id=vf_product)
    raise PciConfigInvalidSpec(
        f"the specified VF vendor ID {spec.vendor_id} and product ID {spec.product_id} "
        f"do not match the expected VF IDs based on the corresponding PF identified by "
        f"PCI address {pf}",
        hint=f"the VFs of PF {pf} are {pf_vendor}:{vf_product}",
    )
