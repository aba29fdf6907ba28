"""VPD images the simulator writes: the encoder and its fault helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offpath.errors import VpdError, VpdFieldUnencodable
from offpath.pci.vpd import ChecksumStatus, VpdRecord, decode_vpd
from offpath.sim.vpd_image import corrupt_checksum, encode_vpd, truncate

BLUEFIELD2 = Path(__file__).parents[2] / "data" / "vpd" / "bluefield2-mbf2h332a.bin"
BLUEFIELD2_NAME = (
    "BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board DDR, "
    "1GbE OOB management, Tall Bracket"
)
BLUEFIELD2_RO = {
    "PN": "MBF2H332A-AEEOT",
    "EC": "A5",
    "V2": "MBF2H332A-AEEOT",
    "SN": "MT2113X00000",
    "V3": "5b8a3f0e2c7d11eb8000b8cef6a1c2d4",
    "VA": "MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A",
    "V0": "PCIeGen4 x8",
}


def test_encoder_writes_the_real_bluefield2_layout_byte_for_byte() -> None:
    assert encode_vpd(BLUEFIELD2_NAME, BLUEFIELD2_RO) == BLUEFIELD2.read_bytes()


def test_encoded_image_decodes_to_its_fields() -> None:
    image = encode_vpd(
        "Card",
        {"PN": "P1", "EC": "A1", "FG": "F", "LC": "L", "MN": "M", "PG": "G", "SN": "S1", "VZ": "z"},
        {"V1": "N/A", "YA": "asset", "Y0": "sys0"},
        rw_size=16,
    )
    assert decode_vpd(image) == VpdRecord(
        card_name="Card",
        part_number="P1",
        change_level="A1",
        fabric_geography="F",
        location="L",
        manufacture_id="M",
        pci_geography="G",
        serial_number="S1",
        ro_vendor_fields={"Z": "z"},
        asset_tag="asset",
        rw_vendor_fields={"1": "N/A"},
        rw_system_fields={"0": "sys0"},
        checksum=ChecksumStatus.VALID,
    )


def test_keywords_are_written_in_the_given_order() -> None:
    image = encode_vpd("C", {"SN": "S", "PN": "P"})
    assert image.index(b"SN\x01S") < image.index(b"PN\x01P") < image.index(b"RV")


def test_rv_checksum_makes_the_sum_zero() -> None:
    image = encode_vpd("Card", {"SN": "S1"}, rv_reserved=0)
    rv = image.index(b"RV\x01")
    assert sum(image[: rv + 4]) % 256 == 0


@pytest.mark.parametrize("reserved", [0, 1, 40, 254])
def test_rv_holds_the_checksum_and_the_reserved_bytes(reserved: int) -> None:
    image = encode_vpd("Card", {"SN": "S1"}, rv_reserved=reserved)
    rv = image.index(b"RV")
    assert (image[rv + 2], image[rv + 4 : rv + 4 + reserved]) == (1 + reserved, bytes(reserved))


def test_rv_is_the_last_keyword_of_vpd_r() -> None:
    image = encode_vpd("Card", {"SN": "S1"}, rv_reserved=3)
    assert image[-1:] == b"\x78" and image.index(b"RV") + 3 + 4 == len(image) - 1


def test_no_vpd_w_without_rw_fields_or_free_space() -> None:
    assert b"\x91" not in encode_vpd("Card", {"SN": "S1"})


def test_rw_free_space_alone_makes_a_vpd_w() -> None:
    image = encode_vpd("Card", {"SN": "S1"}, rw_size=8)
    assert image.endswith(b"\x91\x0b\x00RW\x08" + bytes(8) + b"\x78")


def test_empty_rw_fields_make_an_empty_vpd_w() -> None:
    assert encode_vpd("Card", {"SN": "S1"}, {}).endswith(b"\x91\x00\x00\x78")


@pytest.mark.parametrize(
    ("encode", "keyword"),
    [
        pytest.param(lambda: encode_vpd("C", {"P": "x"}), "P", id="short-keyword"),
        pytest.param(lambda: encode_vpd("C", {"pn": "x"}), "pn", id="lowercase-keyword"),
        pytest.param(lambda: encode_vpd("C", {"RV": "x"}), "RV", id="rv-given"),
        pytest.param(lambda: encode_vpd("C", {"YA": "x"}), "YA", id="ya-in-vpd-r"),
        pytest.param(lambda: encode_vpd("C", {}, {"PN": "x"}), "PN", id="pn-in-vpd-w"),
        pytest.param(lambda: encode_vpd("C", {}, {"RW": "x"}), "RW", id="rw-given"),
        pytest.param(lambda: encode_vpd("C", {"SN": "MT\u00e9"}), "SN", id="non-ascii"),
        pytest.param(lambda: encode_vpd("C", {"SN": "MT\x00"}), "SN", id="non-printable"),
        pytest.param(lambda: encode_vpd("C", {"SN": "x" * 256}), "SN", id="value-too-long"),
        pytest.param(lambda: encode_vpd("x" * 65536, {}), "identifier string", id="long-name"),
        pytest.param(lambda: encode_vpd("C", {}, rw_size=256), "RW", id="rw-size-too-big"),
        pytest.param(lambda: encode_vpd("C", {}, rv_reserved=255), "RV", id="rv-reserved-255"),
    ],
)
def test_unencodable_fields_are_refused(encode: Callable[[], bytes], keyword: str) -> None:
    with pytest.raises(VpdFieldUnencodable) as caught:
        encode()
    assert (caught.value.keyword, caught.value.code) == (keyword, "sim.vpd.unencodable")


def test_corrupt_checksum_changes_only_the_checksum_byte() -> None:
    image = BLUEFIELD2.read_bytes()
    corrupted = corrupt_checksum(image)
    assert [i for i in range(len(image)) if image[i] != corrupted[i]] == [272]


def test_corrupt_checksum_makes_strict_decoding_fail_at_the_checksum() -> None:
    with pytest.raises(VpdError) as caught:
        decode_vpd(corrupt_checksum(BLUEFIELD2.read_bytes()))
    assert caught.value.offset == 272


def test_corrupt_checksum_leaves_a_salvaged_record_without_trusted_serial() -> None:
    record = decode_vpd(corrupt_checksum(encode_vpd("C", {"SN": "S1"}, {"V1": "x"})), strict=False)
    assert (record.checksum, record.card_serial_number) == (ChecksumStatus.INVALID, None)


def test_corrupt_checksum_needs_an_rv() -> None:
    with pytest.raises(ValueError, match="no VPD-R with an RV"):
        corrupt_checksum(b"\x82\x01\x00C\x78")


def test_truncate_keeps_the_first_bytes() -> None:
    assert truncate(b"\x82\x01\x00C\x78", 3) == b"\x82\x01\x00"


@pytest.mark.parametrize("at", [5, 6, -1])
def test_truncate_must_cut_something(at: int) -> None:
    with pytest.raises(ValueError, match="cannot truncate a 5-byte image"):
        truncate(b"\x82\x01\x00C\x78", at)


def test_truncated_vpd_w_is_salvaged_with_the_serial() -> None:
    image = encode_vpd("C", {"SN": "S1"}, {"V1": "x"}, rw_size=20)
    record = decode_vpd(truncate(image, len(image) - 10), strict=False)
    assert (record.card_serial_number, len(record.damage)) == ("S1", 1)
