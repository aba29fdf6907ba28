"""Binary PCI VPD images as a card's EEPROM holds them, and the faults the simulator injects.

An image is the identifier string (0x82), VPD-R (0x90) with the given
keywords then RV (checksum and reserved bytes), an optional VPD-W (0x91)
ending in RW free space, and the end tag (0x78): the layout NVIDIA
BlueField-2 and ConnectX cards carry.
"""

from __future__ import annotations

from collections.abc import Mapping

from offpath.errors import VpdFieldUnencodable
from offpath.pci.vpd import END_TAG, IDENTIFIER_TAG, VPD_R_TAG, VPD_W_TAG

_KEYWORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def encode_vpd(
    card_name: str,
    ro: Mapping[str, str],
    rw: Mapping[str, str] | None = None,
    *,
    rw_size: int = 0,
    rv_reserved: int = 1,
) -> bytes:
    """A valid VPD image: `ro` keywords in order then RV; VPD-W when `rw` or `rw_size` is given.

    `rw_size` bytes of RW free space end VPD-W (none when 0); `rv_reserved`
    zero bytes follow the RV checksum, as on NVIDIA cards (1).
    """
    if not 0 <= rv_reserved <= 254:
        raise VpdFieldUnencodable("RV", f"{rv_reserved} reserved bytes; 0 to 254 fit")
    if not 0 <= rw_size <= 255:
        raise VpdFieldUnencodable("RW", f"{rw_size} bytes of free space; 0 to 255 fit")
    image = bytearray(_large(IDENTIFIER_TAG, _ascii("identifier string", card_name, 0xFFFF)))
    for keyword in ro:
        if keyword in ("RV", "RW") or keyword.startswith("Y"):
            raise VpdFieldUnencodable(keyword, "not a keyword the caller gives in VPD-R")
    vpd_r = b"".join(_keyword(keyword, value) for keyword, value in ro.items())
    rv_length = 1 + rv_reserved
    image += _large(VPD_R_TAG, vpd_r + b"RV" + bytes([rv_length]) + bytes(rv_length))
    rv_checksum_at = len(image) - rv_length
    image[rv_checksum_at] = -sum(image[:rv_checksum_at]) & 0xFF
    if rw is not None or rw_size:
        vpd_w = bytearray()
        for keyword, value in (rw or {}).items():
            if keyword[:1] not in ("V", "Y"):
                raise VpdFieldUnencodable(keyword, "VPD-W holds only V* and Y* keywords")
            vpd_w += _keyword(keyword, value)
        if rw_size:
            vpd_w += b"RW" + bytes([rw_size]) + bytes(rw_size)
        image += _large(VPD_W_TAG, bytes(vpd_w))
    image.append(END_TAG)
    return bytes(image)


def corrupt_checksum(image: bytes) -> bytes:
    """`image` with its RV checksum byte off by one; ValueError if it has no RV."""
    at = _rv_checksum_offset(image)
    return image[:at] + bytes([(image[at] + 1) & 0xFF]) + image[at + 1 :]


def truncate(image: bytes, at: int) -> bytes:
    """The first `at` bytes of `image`, as a short EEPROM read gives; ValueError if not shorter."""
    if not 0 <= at < len(image):
        raise ValueError(f"cannot truncate a {len(image)}-byte image at byte {at}")
    return image[:at]


def _rv_checksum_offset(image: bytes) -> int:
    pos = 0
    # Walk large resources only: a well-formed image reaches VPD-R before any small one.
    while pos + 3 <= len(image) and image[pos] & 0x80:
        stop = pos + 3 + (image[pos + 1] | image[pos + 2] << 8)
        if image[pos] == VPD_R_TAG:
            keyword_at = pos + 3
            while keyword_at + 3 <= min(stop, len(image)):
                if image[keyword_at : keyword_at + 2] == b"RV" and image[keyword_at + 2]:
                    return keyword_at + 3
                keyword_at += 3 + image[keyword_at + 2]
        pos = stop
    raise ValueError("the image has no VPD-R with an RV checksum byte")


def _large(tag: int, body: bytes) -> bytes:
    if len(body) > 0xFFFF:
        raise VpdFieldUnencodable(f"0x{tag:02x}", f"{len(body)} bytes; a resource holds 65535")
    return bytes([tag]) + len(body).to_bytes(2, "little") + body


def _keyword(keyword: str, value: str) -> bytes:
    if len(keyword) != 2 or not set(keyword) <= _KEYWORD_CHARS:
        raise VpdFieldUnencodable(keyword, "a keyword is 2 characters A-Z or 0-9")
    data = _ascii(keyword, value, 255)
    return keyword.encode("ascii") + bytes([len(data)]) + data


def _ascii(what: str, value: str, limit: int) -> bytes:
    if not value.isascii() or not value.isprintable():
        raise VpdFieldUnencodable(what, f"{value!r} is not printable ASCII")
    if len(value) > limit:
        raise VpdFieldUnencodable(what, f"{len(value)} characters; {limit} fit")
    return value.encode("ascii")
