"""PCI Vital Product Data: the record a card's VPD carries, and its binary decoder.

The binary form is what Linux exposes in ``/sys/bus/pci/devices/ADDR/vpd``
(PCI Local Bus 3.0, appendix I): resources, each a tag byte then data.
A large resource has bit 7 set, its name in the low 7 bits and a 2-byte
little-endian length: 0x82 identifier string (the card name), 0x90 VPD-R
(read-only keywords), 0x91 VPD-W (read-write keywords). A small resource
keeps its name in bits 6..3 and its length in bits 2..0; the only one VPD
uses is the end tag 0x78. VPD-R and VPD-W hold keywords: 2 characters, a
length byte, the data. The RV keyword ends VPD-R; its first byte makes the
sum of every byte from the start of the VPD through that byte 0 mod 256.

Text is printable ASCII; trailing spaces and NULs and leading spaces are
padding and dropped (as libvirt does, so the sysfs and libvirt readers
agree). Bytes after the end tag are ignored: older kernels expose the whole
EEPROM window. CP (binary) and keywords the spec does not define (CC, FC,
Z1...) are skipped, as libvirt and lspci do.

``strict=False`` (salvage, what discovery uses) tolerates damage that leaves
the serial number trustworthy and lists it in ``VpdRecord.damage``; the
serial is trusted once a VPD-R has been read through its RV keyword with a
matching checksum. Damage that moves byte positions ("framing") before that
point raises, since nothing after it can be located.

| form                                          | strict | salvage                     | serial? |
|-----------------------------------------------|--------|-----------------------------|---------|
| empty, all 0x00, all 0xff                     | raise  | raise                       | --      |
| framing damage (1) before VPD-R is read to RV | raise  | raise                       | --      |
| framing damage (1) after that                 | raise  | decoded part, flagged (2)   | yes (3) |
| a second VPD-R                                | raise  | raise: which serial?        | --      |
| RV checksum wrong                             | raise  | checksum INVALID, flagged   | no      |
| RV without its checksum byte                  | raise  | raise                       | --      |
| VPD-R without RV                              | raise  | checksum ABSENT, flagged    | yes (4) |
| bytes after RV in VPD-R, after RW in VPD-W    | raise  | ignored, flagged            | yes (3) |
| SN non-printable, or two different SN values  | raise  | raise                       | --      |
| another text field non-printable              | raise  | field dropped, flagged      | yes (3) |
| identifier string not first, or repeated      | raise  | first one kept, flagged     | yes (3) |
| keyword in the wrong section (YA in VPD-R...) | raise  | ignored, flagged            | yes (3) |
| keyword repeated (but SN with another value)  | raise  | last one kept (5), flagged  | yes (3) |
| no VPD-R at all                               | raise  | record, flagged             | no SN   |
| bytes after the end tag; CP; unknown keywords | ignore | ignore                      | yes (3) |

(1) an unknown resource tag, a resource or keyword running past the data or
    past its resource, an invalid keyword name, no end tag.
(2) decoding stops at the damage; a damaged VPD-W keeps the keywords before it.
(3) when the RV checksum is valid (``VpdRecord.card_serial_number`` is None
    for an INVALID checksum).
(4) unverified: nothing says the read-only section is damaged either.
(5) as libvirt does.

libvirt (so Nova) exposes no VPD at all for a wrong checksum, a missing RV
or a missing end tag; salvage keeps the last two, flagged, so that
``offpath doctor`` can say why the card looks damaged.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from pathlib import Path
from typing import Final

from offpath.errors import InputFileError, VpdError
from offpath.jsonvalue import JsonValue
from offpath.primitive import PrimitiveFields


class ChecksumStatus(StrEnum):
    """What the RV keyword's checksum says about the read-only section."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class VpdRecord:
    """The decoded VPD of one PCI function; every absent field is None or empty."""

    card_name: str | None = None
    part_number: str | None = None
    change_level: str | None = None
    fabric_geography: str | None = None
    location: str | None = None
    manufacture_id: str | None = None
    pci_geography: str | None = None
    serial_number: str | None = None
    ro_vendor_fields: Mapping[str, str] = field(default_factory=dict)
    asset_tag: str | None = None
    rw_vendor_fields: Mapping[str, str] = field(default_factory=dict)
    rw_system_fields: Mapping[str, str] = field(default_factory=dict)
    checksum: ChecksumStatus = ChecksumStatus.ABSENT
    # Damage that was tolerated (see decode_vpd); empty for a clean record.
    damage: tuple[str, ...] = ()

    @property
    def card_serial_number(self) -> str | None:
        """The serial number when it can be trusted (not a damaged read-only section)."""
        if self.checksum is ChecksumStatus.INVALID:
            return None
        return self.serial_number or None

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form, which `from_primitive` reads back to an equal record."""
        return {
            "card_name": self.card_name,
            "part_number": self.part_number,
            "change_level": self.change_level,
            "fabric_geography": self.fabric_geography,
            "location": self.location,
            "manufacture_id": self.manufacture_id,
            "pci_geography": self.pci_geography,
            "serial_number": self.serial_number,
            "ro_vendor_fields": dict(self.ro_vendor_fields),
            "asset_tag": self.asset_tag,
            "rw_vendor_fields": dict(self.rw_vendor_fields),
            "rw_system_fields": dict(self.rw_system_fields),
            "checksum": self.checksum.value,
            "damage": list(self.damage),
        }

    @classmethod
    def from_primitive(cls, data: object) -> VpdRecord:
        """The record `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("VpdRecord", data)
        return cls(
            card_name=read.optional_text("card_name"),
            part_number=read.optional_text("part_number"),
            change_level=read.optional_text("change_level"),
            fabric_geography=read.optional_text("fabric_geography"),
            location=read.optional_text("location"),
            manufacture_id=read.optional_text("manufacture_id"),
            pci_geography=read.optional_text("pci_geography"),
            serial_number=read.optional_text("serial_number"),
            ro_vendor_fields=read.text_map("ro_vendor_fields"),
            asset_tag=read.optional_text("asset_tag"),
            rw_vendor_fields=read.text_map("rw_vendor_fields"),
            rw_system_fields=read.text_map("rw_system_fields"),
            checksum=read.optional_choice(
                "checksum", ChecksumStatus, default=ChecksumStatus.ABSENT
            ),
            damage=read.texts("damage"),
        )

    def as_json(self) -> dict[str, JsonValue]:
        """Every field and the trusted `card_serial_number`, as `vpd decode --json` prints them."""
        document: dict[str, JsonValue] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Enum):
                document[item.name] = str(value.value)
            elif isinstance(value, Mapping):
                document[item.name] = {str(key): str(text) for key, text in value.items()}
            elif isinstance(value, tuple):
                document[item.name] = [str(text) for text in value]
            else:
                document[item.name] = value
        document["card_serial_number"] = self.card_serial_number
        return document


IDENTIFIER_TAG: Final = 0x82
VPD_R_TAG: Final = 0x90
VPD_W_TAG: Final = 0x91
END_TAG: Final = 0x78

_RESOURCE_NAMES: Final = {
    IDENTIFIER_TAG: "the identifier string (0x82)",
    VPD_R_TAG: "VPD-R (0x90)",
    VPD_W_TAG: "VPD-W (0x91)",
}
# Read-only text keywords besides the vendor ones (V0..VZ).
_RO_TEXT: Final = frozenset({"PN", "EC", "FG", "LC", "MN", "PG", "SN"})
_KEYWORD_BYTES: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NOT_PRINTABLE: Final = re.compile(rb"[^\x20-\x7e]")


class _Framing(Exception):
    """Byte positions cannot be trusted past `offset`: decoding cannot go on."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(problem)
        self.offset = offset
        self.problem = problem


@dataclass(slots=True)
class _Decoding:
    """What one decode_vpd call has found so far."""

    data: bytes
    strict: bool
    card_name: str | None = None
    ro: dict[str, str] = field(default_factory=dict)
    rw: dict[str, str] = field(default_factory=dict)
    checksum: ChecksumStatus = ChecksumStatus.ABSENT
    damage: list[str] = field(default_factory=list)
    # End of the VPD-R once it was read through; until then damage is fatal.
    vpd_r_end: int | None = None

    def tolerate(self, offset: int, problem: str) -> None:
        """Record damage that leaves byte positions intact; strict mode raises it."""
        if self.strict:
            raise VpdError(offset, problem)
        self.damage.append(f"byte {offset}: {problem}")

    def record(self) -> VpdRecord:
        """The VpdRecord of what was decoded."""
        ro, rw = self.ro, self.rw
        return VpdRecord(
            card_name=self.card_name,
            part_number=ro.get("PN"),
            change_level=ro.get("EC"),
            fabric_geography=ro.get("FG"),
            location=ro.get("LC"),
            manufacture_id=ro.get("MN"),
            pci_geography=ro.get("PG"),
            serial_number=ro.get("SN"),
            ro_vendor_fields={k[1]: v for k, v in ro.items() if k[0] == "V"},
            asset_tag=rw.get("YA"),
            rw_vendor_fields={k[1]: v for k, v in rw.items() if k[0] == "V"},
            rw_system_fields={k[1]: v for k, v in rw.items() if k[0] == "Y" and k != "YA"},
            checksum=self.checksum,
            damage=tuple(self.damage),
        )


def decode_vpd(data: bytes, *, strict: bool = True) -> VpdRecord:
    """Decode binary PCI VPD; VpdError names the byte where it is malformed.

    ``strict=False`` tolerates, and lists in ``damage``, what the module table allows.
    """
    _reject_blank(data)
    found = _Decoding(data, strict)
    try:
        _decode_resources(found)
    except _Framing as exc:
        if strict or found.vpd_r_end is None:
            raise VpdError(exc.offset, exc.problem) from None
        found.damage.append(f"byte {exc.offset}: {exc.problem}; decoding stopped there")
    return found.record()


def read_vpd_file(path: Path, *, strict: bool) -> VpdRecord:
    """Decode the VPD file at `path`; InputFileError if it is no regular file or cannot be read."""
    try:
        # Non-blocking, so that a FIFO without a writer cannot hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputFileError(path, f"cannot read VPD: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError(path, "cannot read VPD: Is a directory")
        if not stat.S_ISREG(mode):
            # sysfs `vpd` files are regular; a FIFO or /dev/zero would never end.
            raise InputFileError(path, "cannot read VPD: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    except OSError as exc:
        raise InputFileError(path, f"cannot read VPD: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return decode_vpd(data, strict=strict)


def _reject_blank(data: bytes) -> None:
    if not data:
        raise VpdError(0, "no bytes at all: the device exposes an empty VPD")
    blank = data[0]
    # Only a blank first byte can start a blank EEPROM; skip scanning a 32 KiB window otherwise.
    if blank in (0x00, 0xFF) and data.count(blank) == len(data):
        raise VpdError(0, f"all {len(data)} bytes are 0x{blank:02x}: the VPD EEPROM is blank")


def _decode_resources(found: _Decoding) -> None:
    data = found.data
    size = len(data)
    pos = 0
    seen_identifier = False
    while True:
        if pos >= size:
            raise _Framing(size, "the data ends without the end tag (0x78)")
        tag = data[pos]
        if not tag & 0x80:
            if tag >> 3 == END_TAG >> 3:
                break
            raise _Framing(pos, f"unknown resource tag 0x{tag:02x}")
        if tag not in _RESOURCE_NAMES:
            raise _Framing(pos, f"unknown resource tag 0x{tag:02x}")
        name = _RESOURCE_NAMES[tag]
        if pos + 3 > size:
            raise _Framing(pos, f"{name} header is cut short: {size - pos} of its 3 bytes")
        start = pos + 3
        stop = start + (data[pos + 1] | data[pos + 2] << 8)
        if stop > size:
            raise _Framing(
                pos,
                f"{name} declares {stop - start} bytes but only {size - start} remain",
            )
        if pos == 0 and tag != IDENTIFIER_TAG:
            found.tolerate(0, f"the VPD starts with {name}, not the identifier string (0x82)")
        if tag == IDENTIFIER_TAG:
            if seen_identifier:
                found.tolerate(pos, "a second identifier string (0x82); the first one is kept")
            else:
                found.card_name = _text(found, start, stop, "the identifier string")
            seen_identifier = True
        elif tag == VPD_R_TAG:
            if found.vpd_r_end is not None:
                raise VpdError(
                    pos, f"a second VPD-R (0x90); the first one ends at byte {found.vpd_r_end}"
                )
            _decode_vpd_r(found, start, stop)
        else:
            _decode_vpd_w(found, start, stop)
        pos = stop
    if found.vpd_r_end is None:
        found.tolerate(pos, "no VPD-R (0x90) before the end tag: the card has no serial number")


def _decode_vpd_r(found: _Decoding, start: int, stop: int) -> None:
    pos = start
    while pos < stop:
        keyword, value_start, value_stop = _keyword(found.data, pos, stop, "VPD-R")
        if keyword == "RV":
            _check_rv(found, pos, value_start, value_stop)
            if value_stop < stop:
                found.tolerate(
                    value_stop,
                    f"{stop - value_stop} bytes follow RV in VPD-R; RV must be its last keyword",
                )
            found.vpd_r_end = stop
            return
        if keyword in _RO_TEXT or keyword[0] == "V":
            value = _text(found, value_start, value_stop, keyword, vital=keyword == "SN")
            if value is not None:
                _store(found, found.ro, keyword, value, pos)
        elif keyword == "RW" or keyword[0] == "Y":
            found.tolerate(pos, f"{keyword} belongs in VPD-W, not VPD-R; ignored")
        pos = value_stop
    found.tolerate(stop, "VPD-R ends without the RV checksum keyword")
    found.vpd_r_end = stop


def _decode_vpd_w(found: _Decoding, start: int, stop: int) -> None:
    pos = start
    while pos < stop:
        keyword, value_start, value_stop = _keyword(found.data, pos, stop, "VPD-W")
        if keyword == "RW":
            if value_stop < stop:
                found.tolerate(
                    value_stop,
                    f"{stop - value_stop} bytes follow RW in VPD-W; RW must be its last keyword",
                )
            return
        if keyword[0] in "VY":
            value = _text(found, value_start, value_stop, keyword)
            if value is not None:
                _store(found, found.rw, keyword, value, pos)
        elif keyword in _RO_TEXT or keyword in ("RV", "CP"):
            found.tolerate(pos, f"{keyword} belongs in VPD-R, not VPD-W; ignored")
        pos = value_stop


def _keyword(data: bytes, pos: int, stop: int, section: str) -> tuple[str, int, int]:
    """The keyword at `pos` and where its data starts and stops."""
    if pos + 3 > stop:
        raise _Framing(pos, f"a keyword header needs 3 bytes but {section} has {stop - pos} left")
    first, second = data[pos], data[pos + 1]
    if first not in _KEYWORD_BYTES or second not in _KEYWORD_BYTES:
        raise _Framing(pos, f"invalid keyword name {data[pos : pos + 2]!r} in {section}")
    keyword = chr(first) + chr(second)
    value_start = pos + 3
    value_stop = value_start + data[pos + 2]
    if value_stop > stop:
        raise _Framing(
            pos,
            f"{keyword} declares {value_stop - value_start} bytes, running past the end "
            f"of {section} at byte {stop}",
        )
    return keyword, value_start, value_stop


def _check_rv(found: _Decoding, pos: int, value_start: int, value_stop: int) -> None:
    if value_stop == value_start:
        raise VpdError(pos, "RV has no checksum byte")
    # The checksum byte itself is part of the sum that must come to 0.
    total = sum(found.data[: value_start + 1]) & 0xFF
    if total == 0:
        found.checksum = ChecksumStatus.VALID
        return
    byte = found.data[value_start]
    found.tolerate(
        value_start,
        f"RV checksum 0x{byte:02x} is wrong (0x{(byte - total) & 0xFF:02x} would make "
        "the sum 0): the read-only section is damaged, its serial number is not trusted",
    )
    found.checksum = ChecksumStatus.INVALID


def _text(found: _Decoding, start: int, stop: int, what: str, *, vital: bool = False) -> str | None:
    """Printable ASCII between `start` and `stop` without padding; None if dropped."""
    raw = found.data[start:stop]
    unpadded = raw.rstrip(b" \x00")
    value = unpadded.lstrip(b" ")
    bad = _NOT_PRINTABLE.search(value)
    if bad is None:
        return value.decode("ascii")
    offset = start + len(unpadded) - len(value) + bad.start()
    problem = f"{what} holds the non-printable byte 0x{value[bad.start()]:02x}"
    if vital:
        raise VpdError(offset, problem)
    found.tolerate(offset, f"{problem}; the field is dropped")
    return None


def _store(found: _Decoding, fields: dict[str, str], keyword: str, value: str, pos: int) -> None:
    old = fields.get(keyword)
    if old is not None:
        if keyword == "SN" and old != value:
            raise VpdError(pos, f"a second SN {value!r} differs from the first {old!r}")
        found.tolerate(pos, f"{keyword} appears twice; the last one is kept")
    fields[keyword] = value
