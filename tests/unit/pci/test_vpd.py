"""Binary VPD decoding: keywords, resources, the RV checksum, malformations, salvage."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from offpath.errors import InputFileError, VpdError
from offpath.pci.vpd import ChecksumStatus, VpdRecord, decode_vpd, read_vpd_file

DATA = Path(__file__).parents[2] / "data" / "vpd"
BLUEFIELD2 = DATA / "bluefield2-mbf2h332a.bin"

# Images are built by hand here, independently of offpath.sim.vpd_image.
END = b"\x78"


def large(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + len(body).to_bytes(2, "little") + body


def kw(name: str, value: bytes | str) -> bytes:
    data = value.encode("ascii") if isinstance(value, str) else value
    return name.encode("ascii") + bytes([len(data)]) + data


ID = large(0x82, b"Card")  # bytes 0-6; a VPD-R after it starts at byte 7, its keywords at 10


def vpd_r(*keywords: bytes, before: bytes = ID, reserved: int = 0, trailer: bytes = b"") -> bytes:
    """VPD-R with `keywords`, then RV with the right checksum for `before` + it, then `trailer`."""
    rv_length = 1 + reserved
    body = b"".join(keywords) + b"RV" + bytes([rv_length])
    size = len(body) + rv_length + len(trailer)
    head = before + bytes([0x90]) + size.to_bytes(2, "little") + body
    return head[len(before) :] + bytes([-sum(head) & 0xFF]) + bytes(reserved) + trailer


def image(*keywords: bytes, name: bytes = ID, after: bytes = END) -> bytes:
    return name + vpd_r(*keywords, before=name) + after


SN = kw("SN", "MT1")
GOOD = ID + vpd_r(SN)  # 20 bytes: RV checksum at byte 19; what follows starts at byte 20


ONLY_SN = VpdRecord(card_name="Card", serial_number="MT1", checksum=ChecksumStatus.VALID)


def bump(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([(data[at] + 1) & 0xFF]) + data[at + 1 :]


# --- a real card -----------------------------------------------------------------------

BLUEFIELD2_RECORD = VpdRecord(
    card_name="BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board DDR, "
    "1GbE OOB management, Tall Bracket",
    part_number="MBF2H332A-AEEOT",
    change_level="A5",
    serial_number="MT2113X00000",
    ro_vendor_fields={
        "2": "MBF2H332A-AEEOT",
        "3": "5b8a3f0e2c7d11eb8000b8cef6a1c2d4",
        "A": "MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A",
        "0": "PCIeGen4 x8",
    },
    checksum=ChecksumStatus.VALID,
)


def test_bluefield2_image_decodes_to_its_fields() -> None:
    assert decode_vpd(BLUEFIELD2.read_bytes()) == BLUEFIELD2_RECORD


def test_bluefield2_serial_is_trusted() -> None:
    assert decode_vpd(BLUEFIELD2.read_bytes()).card_serial_number == "MT2113X00000"


def test_bytes_after_the_end_tag_are_ignored() -> None:
    # Older kernels expose the whole 32 KiB window: erased EEPROM reads as 0xff.
    window = BLUEFIELD2.read_bytes() + b"\xff" * 32000
    assert decode_vpd(window) == BLUEFIELD2_RECORD


# --- keywords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "attribute"),
    [
        pytest.param("PN", "part_number", id="PN"),
        pytest.param("EC", "change_level", id="EC"),
        pytest.param("FG", "fabric_geography", id="FG"),
        pytest.param("LC", "location", id="LC"),
        pytest.param("MN", "manufacture_id", id="MN"),
        pytest.param("PG", "pci_geography", id="PG"),
        pytest.param("SN", "serial_number", id="SN"),
    ],
)
def test_read_only_text_keyword(keyword: str, attribute: str) -> None:
    assert getattr(decode_vpd(image(kw(keyword, "VAL-1"))), attribute) == "VAL-1"


INDEXES = string.digits + string.ascii_uppercase


def test_every_read_only_vendor_keyword_is_keyed_by_its_index() -> None:
    record = decode_vpd(image(*(kw(f"V{i}", f"v{i}") for i in INDEXES)))
    assert record.ro_vendor_fields == {i: f"v{i}" for i in INDEXES}


def test_every_read_write_vendor_keyword_is_keyed_by_its_index() -> None:
    vpd_w = large(0x91, b"".join(kw(f"V{i}", f"w{i}") for i in INDEXES))
    assert decode_vpd(image(after=vpd_w + END)).rw_vendor_fields == {i: f"w{i}" for i in INDEXES}


def test_every_system_keyword_but_ya_is_a_system_field() -> None:
    vpd_w = large(0x91, b"".join(kw(f"Y{i}", f"y{i}") for i in INDEXES))
    record = decode_vpd(image(after=vpd_w + END))
    assert record.rw_system_fields == {i: f"y{i}" for i in INDEXES if i != "A"}


def test_ya_is_the_asset_tag() -> None:
    vpd_w = large(0x91, kw("YA", "rack-12"))
    assert decode_vpd(image(after=vpd_w + END)).asset_tag == "rack-12"


def test_rw_free_space_ends_vpd_w() -> None:
    vpd_w = large(0x91, kw("V1", "N/A") + kw("RW", bytes(40)))
    record = decode_vpd(image(after=vpd_w + END))
    assert (record.rw_vendor_fields, record.damage) == ({"1": "N/A"}, ())


def test_cp_binary_capability_is_skipped() -> None:
    record = decode_vpd(image(kw("CP", b"\x01\x00\x10\x00\xff"), SN))
    assert record == ONLY_SN


@pytest.mark.parametrize("keyword", ["CC", "FC", "NA", "Z1"])
def test_keywords_the_spec_does_not_define_are_skipped(keyword: str) -> None:
    record = decode_vpd(image(kw(keyword, b"\x00\x01binary"), SN))
    assert record == ONLY_SN


def test_rv_reserved_bytes_are_not_data() -> None:
    data = ID + vpd_r(SN, reserved=30) + END
    assert decode_vpd(data) == ONLY_SN


# --- text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"MT2113X00000", id="exact"),
        pytest.param(b"MT2113X00000    ", id="trailing-spaces"),
        pytest.param(b"MT2113X00000\x00\x00\x00", id="trailing-nuls"),
        pytest.param(b"MT2113X00000 \x00 \x00", id="spaces-and-nuls"),
        pytest.param(b"  MT2113X00000", id="leading-spaces"),
    ],
)
def test_text_padding_is_dropped(raw: bytes) -> None:
    assert decode_vpd(image(kw("SN", raw))).serial_number == "MT2113X00000"


def test_inner_spaces_are_kept() -> None:
    assert decode_vpd(image(kw("V0", "PCIeGen4 x8"))).ro_vendor_fields == {"0": "PCIeGen4 x8"}


def test_padded_identifier_string_is_unpadded() -> None:
    name = large(0x82, b"ConnectX-2 QSFP" + b" " * 9)
    assert decode_vpd(image(SN, name=name)).card_name == "ConnectX-2 QSFP"


def test_an_empty_field_is_present_but_empty() -> None:
    record = decode_vpd(image(kw("SN", b"    ")))
    assert (record.serial_number, record.card_serial_number) == ("", None)


# --- resources -------------------------------------------------------------------------


@pytest.mark.parametrize("end", [b"\x78", b"\x79", b"\x7f"], ids=["0x78", "0x79", "0x7f"])
def test_any_small_end_tag_ends_the_vpd(end: bytes) -> None:
    # The kernel sizes the sysfs file by the tag name alone; the length bits do not matter.
    assert decode_vpd(GOOD + end + b"junk").serial_number == "MT1"


def test_vpd_w_may_come_before_vpd_r() -> None:
    vpd_w = large(0x91, kw("YA", "tag"))
    data = ID + vpd_w + vpd_r(SN, before=ID + vpd_w) + END
    assert (decode_vpd(data).asset_tag, decode_vpd(data).serial_number) == ("tag", "MT1")


# --- checksum --------------------------------------------------------------------------


def test_checksum_of_a_good_image_is_valid() -> None:
    assert decode_vpd(GOOD + END).checksum is ChecksumStatus.VALID


def test_checksum_covers_the_identifier_string() -> None:
    damaged = bump(GOOD, 3) + END  # "Card" -> "Dard": still printable, sum off by one
    with pytest.raises(VpdError) as caught:
        decode_vpd(damaged)
    assert caught.value.offset == 19


def test_checksum_covers_the_vpd_r_header() -> None:
    with pytest.raises(VpdError) as caught:
        decode_vpd(bump(GOOD, 8) + b"\x00" * 256 + END)
    assert caught.value.offset == 19


def test_bytes_after_the_checksum_byte_are_not_covered() -> None:
    data = ID + vpd_r(SN, reserved=2)
    changed = data[:-1] + b"\x55" + END
    assert decode_vpd(changed).checksum is ChecksumStatus.VALID


def test_checksum_does_not_cover_vpd_w() -> None:
    data = image(SN, after=large(0x91, kw("V1", "a")) + END)
    changed = data.replace(b"V1\x01a", b"V1\x01b")
    assert decode_vpd(changed).checksum is ChecksumStatus.VALID


def test_wrong_checksum_in_salvage_distrusts_the_serial() -> None:
    record = decode_vpd(bump(GOOD, 19) + END, strict=False)
    assert (record.checksum, record.serial_number, record.card_serial_number) == (
        ChecksumStatus.INVALID,
        "MT1",
        None,
    )


def test_wrong_checksum_message_names_the_right_value() -> None:
    good_checksum = GOOD[19]
    with pytest.raises(VpdError) as caught:
        decode_vpd(bump(GOOD, 19) + END)
    assert f"0x{good_checksum:02x} would make the sum 0" in caught.value.problem


# --- malformations (strict) ------------------------------------------------------------


VPD_W_AT = 20  # in GOOD + a VPD-W, the VPD-W header; its first keyword is at 23

MALFORMED = [
    pytest.param(b"", 0, "no bytes at all", id="empty"),
    pytest.param(bytes(64), 0, "all 64 bytes are 0x00", id="all-0x00"),
    pytest.param(b"\xff" * 64, 0, "all 64 bytes are 0xff", id="all-0xff"),
    pytest.param(b"\x83\x01\x00A\x78", 0, "unknown resource tag 0x83", id="unknown-large-tag"),
    pytest.param(ID + b"\x10" + GOOD[7:], 7, "unknown resource tag 0x10", id="unknown-small-tag"),
    pytest.param(b"\x82\x04", 0, "header is cut short: 2 of its 3", id="identifier-header-cut"),
    pytest.param(
        b"\x82\x09\x00Card", 0, "declares 9 bytes but only 4 remain", id="identifier-truncated"
    ),
    pytest.param(
        ID + b"\x90\x20\x00" + SN, 7, "VPD-R (0x90) declares 32 bytes", id="vpd-r-truncated"
    ),
    pytest.param(
        ID + large(0x90, SN + b"RV") + END,
        16,
        "keyword header needs 3 bytes but VPD-R has 2 left",
        id="keyword-header-cut",
    ),
    pytest.param(
        ID + large(0x90, b"SN\x09MT1") + END,
        10,
        "SN declares 9 bytes, running past the end of VPD-R at byte 16",
        id="keyword-past-vpd-r",
    ),
    pytest.param(
        ID + large(0x90, b"\x00\x00\x00" + SN) + END,
        10,
        "invalid keyword name b'\\x00\\x00' in VPD-R",
        id="invalid-keyword-name",
    ),
    pytest.param(GOOD, 20, "the data ends without the end tag", id="missing-end-tag"),
    pytest.param(bump(GOOD, 19) + END, 19, "RV checksum", id="bad-checksum"),
    pytest.param(
        ID + large(0x90, SN + b"RV\x00") + END, 16, "RV has no checksum byte", id="rv-empty"
    ),
    pytest.param(
        ID + large(0x90, SN) + END, 16, "VPD-R ends without the RV checksum keyword", id="no-rv"
    ),
    pytest.param(
        ID + vpd_r(SN, trailer=b"PN\x00") + END,
        20,
        "3 bytes follow RV in VPD-R",
        id="bytes-after-rv",
    ),
    pytest.param(
        image(kw("SN", b"MT\x01X")), 15, "SN holds the non-printable byte 0x01", id="sn-binary"
    ),
    pytest.param(
        image(kw("PN", b"P\xff")), 14, "PN holds the non-printable byte 0xff", id="pn-binary"
    ),
    pytest.param(
        image(SN, name=large(0x82, b"  Ca\trd")),
        7,
        "the identifier string holds the non-printable byte 0x09",
        id="identifier-binary",
    ),
    pytest.param(
        GOOD + vpd_r(kw("SN", "MT2"), before=GOOD) + END,
        20,
        "a second VPD-R (0x90); the first one ends at byte 20",
        id="second-vpd-r",
    ),
    pytest.param(image(SN, kw("SN", "MT2")), 16, "a second SN 'MT2' differs", id="two-serials"),
    pytest.param(image(kw("PN", "P1"), kw("PN", "P1")), 15, "PN appears twice", id="repeated-pn"),
    pytest.param(
        vpd_r(SN, before=b"") + END, 0, "starts with VPD-R (0x90), not the", id="no-identifier"
    ),
    pytest.param(GOOD + ID + END, 20, "a second identifier string", id="second-identifier"),
    pytest.param(
        image(kw("YA", "tag"), SN), 10, "YA belongs in VPD-W, not VPD-R", id="ya-in-vpd-r"
    ),
    pytest.param(
        GOOD + large(0x91, kw("SN", "X")) + END, 23, "SN belongs in VPD-R", id="sn-in-vpd-w"
    ),
    pytest.param(
        GOOD + large(0x91, b"RV\x01\x00") + END, 23, "RV belongs in VPD-R", id="rv-in-vpd-w"
    ),
    pytest.param(
        GOOD + large(0x91, b"RW\x01\x00" + kw("V1", "")) + END,
        27,
        "3 bytes follow RW in VPD-W",
        id="bytes-after-rw",
    ),
    pytest.param(ID + END, 7, "no VPD-R (0x90) before the end tag", id="no-vpd-r"),
    pytest.param(
        GOOD + large(0x91, b"V1\x09ab") + END,
        23,
        "V1 declares 9 bytes, running past the end of VPD-W",
        id="keyword-past-vpd-w",
    ),
    pytest.param(
        GOOD + b"\x91\x40\x00" + kw("V1", "x"),
        20,
        "VPD-W (0x91) declares 64 bytes but only 4 remain",
        id="vpd-w-truncated",
    ),
    pytest.param(GOOD + b"\xff\xff\xff", 20, "unknown resource tag 0xff", id="junk-after-vpd-r"),
]


@pytest.mark.parametrize(("data", "offset", "problem"), MALFORMED)
def test_strict_decoding_names_the_byte_and_the_problem(
    data: bytes, offset: int, problem: str
) -> None:
    with pytest.raises(VpdError) as caught:
        decode_vpd(data)
    assert (caught.value.offset, problem in caught.value.problem) == (offset, True), (
        caught.value.problem
    )


def test_error_message_reads_malformed_vpd_at_byte() -> None:
    with pytest.raises(VpdError, match=r"^malformed VPD at byte 20: the data ends without"):
        decode_vpd(GOOD)


# --- salvage policy (see the table in offpath.pci.vpd) ---------------------------------

SALVAGE_RAISES = [
    pytest.param(b"", 0, id="empty"),
    pytest.param(bytes(16), 0, id="all-0x00"),
    pytest.param(b"\xff" * 16, 0, id="all-0xff"),
    pytest.param(b"\x82\x09\x00Card", 0, id="identifier-truncated"),
    pytest.param(ID + b"\x90\x20\x00" + SN, 7, id="vpd-r-truncated"),
    pytest.param(ID + large(0x90, b"SN\x09MT1") + END, 10, id="keyword-past-vpd-r"),
    pytest.param(ID + large(0x90, b"\x00\x00\x00" + SN) + END, 10, id="garbage-in-vpd-r"),
    pytest.param(ID + b"\x10" + GOOD[7:], 7, id="unknown-tag-before-vpd-r"),
    pytest.param(ID, 7, id="no-end-tag-and-no-vpd-r"),
    pytest.param(GOOD + vpd_r(kw("SN", "MT2"), before=GOOD) + END, 20, id="second-vpd-r"),
    pytest.param(ID + large(0x90, SN + b"RV\x00") + END, 16, id="rv-empty"),
    pytest.param(image(kw("SN", b"MT\x01X")), 15, id="sn-binary"),
    pytest.param(image(SN, kw("SN", "MT2")), 16, id="two-serials"),
]


@pytest.mark.parametrize(("data", "offset"), SALVAGE_RAISES)
def test_salvage_raises_when_the_serial_cannot_be_trusted(data: bytes, offset: int) -> None:
    with pytest.raises(VpdError) as caught:
        decode_vpd(data, strict=False)
    assert caught.value.offset == offset


SALVAGED = [
    pytest.param(GOOD, "MT1", 20, id="missing-end-tag"),
    pytest.param(GOOD + b"\x91\x40\x00" + kw("V1", "x"), "MT1", 20, id="vpd-w-truncated"),
    pytest.param(GOOD + b"\xff\xff\xff", "MT1", 20, id="junk-after-vpd-r"),
    pytest.param(bump(GOOD, 19) + END, None, 19, id="bad-checksum"),
    pytest.param(ID + large(0x90, SN) + END, "MT1", 16, id="no-rv"),
    pytest.param(ID + vpd_r(SN, trailer=b"PN\x00") + END, "MT1", 20, id="bytes-after-rv"),
    pytest.param(image(kw("PN", b"P\xff"), SN), "MT1", 14, id="pn-binary"),
    pytest.param(image(SN, name=large(0x82, b"Ca\trd")), "MT1", 5, id="identifier-binary"),
    pytest.param(vpd_r(SN, before=b"") + END, "MT1", 0, id="no-identifier"),
    pytest.param(GOOD + ID + END, "MT1", 20, id="second-identifier"),
    pytest.param(image(kw("YA", "tag"), SN), "MT1", 10, id="ya-in-vpd-r"),
    pytest.param(GOOD + large(0x91, kw("SN", "X")) + END, "MT1", 23, id="sn-in-vpd-w"),
    pytest.param(
        GOOD + large(0x91, b"RW\x01\x00" + kw("V1", "")) + END, "MT1", 27, id="bytes-after-rw"
    ),
    pytest.param(image(SN, SN), "MT1", 16, id="same-serial-twice"),
    pytest.param(image(kw("PN", "P1"), kw("PN", "P2"), SN), "MT1", 15, id="repeated-pn"),
    pytest.param(ID + END, None, 7, id="no-vpd-r"),
]


@pytest.mark.parametrize(("data", "serial", "offset"), SALVAGED)
def test_salvage_flags_damage_and_keeps_a_trustworthy_serial(
    data: bytes, serial: str | None, offset: int
) -> None:
    record = decode_vpd(data, strict=False)
    assert (record.card_serial_number, len(record.damage)) == (serial, 1)
    assert record.damage[0].startswith(f"byte {offset}: "), record.damage


def test_salvage_stops_at_a_damaged_vpd_w_keeping_the_keywords_before() -> None:
    vpd_w = large(0x91, kw("V1", "ok") + b"V2\x09ab")
    record = decode_vpd(GOOD + vpd_w + END, strict=False)
    assert record.rw_vendor_fields == {"1": "ok"}
    assert record.damage[0].endswith("decoding stopped there")


def test_salvage_drops_a_non_printable_field_only() -> None:
    record = decode_vpd(image(kw("PN", b"P\xff"), kw("EC", "A5"), SN), strict=False)
    assert (record.part_number, record.change_level) == (None, "A5")


def test_salvage_keeps_the_first_identifier_string() -> None:
    record = decode_vpd(GOOD + large(0x82, b"Other") + END, strict=False)
    assert record.card_name == "Card"


def test_salvage_keeps_the_last_of_a_repeated_keyword() -> None:
    record = decode_vpd(image(kw("PN", "P1"), kw("PN", "P2"), SN), strict=False)
    assert record.part_number == "P2"


def test_salvage_ignores_misplaced_keywords() -> None:
    record = decode_vpd(GOOD + large(0x91, kw("SN", "X")) + END, strict=False)
    assert (record.serial_number, record.rw_vendor_fields, record.rw_system_fields) == (
        "MT1",
        {},
        {},
    )


def test_salvage_of_a_clean_image_equals_strict() -> None:
    data = BLUEFIELD2.read_bytes()
    assert decode_vpd(data, strict=False) == decode_vpd(data)


# --- files -----------------------------------------------------------------------------


def test_read_vpd_file_decodes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vpd"
    path.write_bytes(BLUEFIELD2.read_bytes())
    assert read_vpd_file(path, strict=True) == BLUEFIELD2_RECORD


def test_read_vpd_file_of_a_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "vpd"
    with pytest.raises(InputFileError, match=f"^{path}: cannot read VPD: No such file"):
        read_vpd_file(path, strict=True)


def test_read_vpd_file_of_a_directory_names_it(tmp_path: Path) -> None:
    with pytest.raises(
        InputFileError, match=f"^{tmp_path}: cannot read VPD: is a directory, not a regular file"
    ):
        read_vpd_file(tmp_path, strict=False)


def test_read_vpd_file_of_malformed_vpd_raises_vpd_error(tmp_path: Path) -> None:
    path = tmp_path / "vpd"
    path.write_bytes(GOOD)
    with pytest.raises(VpdError):
        read_vpd_file(path, strict=True)


def test_read_vpd_file_salvages_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "vpd"
    path.write_bytes(GOOD)
    assert read_vpd_file(path, strict=False).card_serial_number == "MT1"
