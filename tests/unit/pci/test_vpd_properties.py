"""Properties of the VPD decoder over generated input (hypothesis)."""

from __future__ import annotations

import contextlib
import string

from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import VpdError
from offpath.pci.vpd import ChecksumStatus, VpdRecord, decode_vpd
from offpath.sim.vpd_image import encode_vpd

INDEXES = string.digits + string.ascii_uppercase
# Padding (leading/trailing spaces) is dropped on decoding, so values come without it.
TEXT = st.text(st.sampled_from(string.printable[:95]), max_size=60).map(lambda s: s.strip(" "))
RO_KEYWORDS = st.sampled_from(
    ["PN", "EC", "FG", "LC", "MN", "PG", "SN"] + [f"V{i}" for i in INDEXES]
)
RW_KEYWORDS = st.sampled_from([f"V{i}" for i in INDEXES] + [f"Y{i}" for i in INDEXES])


def decode_both_ways(data: bytes) -> None:
    """Decode strictly and leniently: a VpdRecord or VpdError, nothing else, each way."""
    for strict in (True, False):
        with contextlib.suppress(VpdError):
            assert isinstance(decode_vpd(data, strict=strict), VpdRecord)


@given(st.binary(max_size=512))
def test_any_bytes_raise_only_vpd_error(data: bytes) -> None:
    decode_both_ways(data)


@st.composite
def images(draw: st.DrawFn) -> bytes:
    return encode_vpd(
        draw(TEXT),
        draw(st.dictionaries(RO_KEYWORDS, TEXT, max_size=6)),
        draw(st.none() | st.dictionaries(RW_KEYWORDS, TEXT, max_size=4)),
        rw_size=draw(st.integers(0, 40)),
        rv_reserved=draw(st.integers(0, 8)),
    )


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    """A valid image with some bytes overwritten, inserted or cut: reaches deep paths."""
    data = bytearray(draw(images()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        byte = draw(st.integers(0, 255))
        action = draw(st.sampled_from(["overwrite", "insert", "cut"]))
        if action == "overwrite" and at < len(data):
            data[at] = byte
        elif action == "insert":
            data.insert(at, byte)
        else:
            del data[at:]
    return bytes(data)


@given(damaged_images())
def test_damaged_images_raise_only_vpd_error(data: bytes) -> None:
    decode_both_ways(data)


@given(damaged_images())
def test_salvage_returns_whatever_strict_accepts(data: bytes) -> None:
    try:
        strict = decode_vpd(data)
    except VpdError:
        return
    assert decode_vpd(data, strict=False) == strict


@given(damaged_images())
def test_salvaged_serial_is_never_from_a_wrong_checksum(data: bytes) -> None:
    try:
        record = decode_vpd(data, strict=False)
    except VpdError:
        return
    if record.checksum is ChecksumStatus.INVALID:
        assert record.card_serial_number is None


@given(
    TEXT,
    st.dictionaries(RO_KEYWORDS, TEXT, max_size=8),
    st.none() | st.dictionaries(RW_KEYWORDS, TEXT, max_size=8),
    st.integers(0, 255),
)
def test_encoded_fields_decode_back(
    card_name: str, ro: dict[str, str], rw: dict[str, str] | None, rw_size: int
) -> None:
    rw_fields = rw or {}
    expected = VpdRecord(
        card_name=card_name,
        part_number=ro.get("PN"),
        change_level=ro.get("EC"),
        fabric_geography=ro.get("FG"),
        location=ro.get("LC"),
        manufacture_id=ro.get("MN"),
        pci_geography=ro.get("PG"),
        serial_number=ro.get("SN"),
        ro_vendor_fields={k[1]: v for k, v in ro.items() if k[0] == "V"},
        asset_tag=rw_fields.get("YA"),
        rw_vendor_fields={k[1]: v for k, v in rw_fields.items() if k[0] == "V"},
        rw_system_fields={k[1]: v for k, v in rw_fields.items() if k[0] == "Y" and k != "YA"},
        checksum=ChecksumStatus.VALID,
    )
    assert decode_vpd(encode_vpd(card_name, ro, rw, rw_size=rw_size)) == expected
