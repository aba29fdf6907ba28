"""Review: hostile nova.conf files give ConfigFileError naming the path, never another exception.

Every case here raised an oslo.config or codec exception, hung, or named the
wrong problem before the review (see notes/review.md).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.config import load_pci_config
from offpath.errors import ConfigFileError, ConfigValueError, OffpathError

PROC_MEM = Path("/proc/self/mem")


def write(tmp_path: Path, data: bytes | str, name: str = "nova.conf") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "where"),
    [
        pytest.param(bytes(range(0x80, 0x100)) * 8, ":1", id="binary-garbage"),
        pytest.param(
            b'[pci]\ndevice_spec = {"physical_network": "ph\xff\xfe"}\n', ":2", id="latin-1-value"
        ),
        pytest.param(b"[pci]\n\n\n# caf\xe9\n", ":4", id="latin-1-comment"),
    ],
)
def test_non_utf8_bytes_name_the_file_and_line(tmp_path: Path, data: bytes, where: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigFileError) as info:
        load_pci_config([path])
    assert info.value.message.startswith(f"config file {path}{where}: not UTF-8 text (byte 0x")
    assert "UTF-8" in info.value.hint


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "nova.conf"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_pci_config([fifo])
        except BaseException as exc:  # the outcome is what the test checks
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        # Release the blocked reader so the thread can end, then fail.
        with fifo.open("w"):
            pass
        pytest.fail("load_pci_config blocked on a FIFO")
    (error,) = outcome
    assert isinstance(error, ConfigFileError)
    assert error.message == f"config file {fifo}: is a FIFO, not a regular file"


def test_a_character_device_is_refused() -> None:
    # /dev/null stands for them all; /dev/zero would fill the memory of a broken build.
    with pytest.raises(ConfigFileError, match="/dev/null: is a character device, not a regular"):
        load_pci_config([Path("/dev/null")])


def test_a_symlink_loop_is_not_called_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.conf").symlink_to("b.conf")
    (tmp_path / "b.conf").symlink_to("a.conf")
    with pytest.raises(ConfigFileError, match="too many levels of symbolic links"):
        load_pci_config([tmp_path / "a.conf"])


def test_a_dangling_symlink_is_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "nova.conf").symlink_to(tmp_path / "gone.conf")
    with pytest.raises(ConfigFileError, match="no such file"):
        load_pci_config([tmp_path / "nova.conf"])


@pytest.mark.skipif(not os.access(PROC_MEM, os.R_OK), reason="/proc/self/mem is not readable")
def test_a_read_error_is_a_config_file_error() -> None:
    # A regular file whose read fails (EIO at offset 0): what a failing disk looks like.
    with pytest.raises(ConfigFileError, match="cannot read it: input/output error"):
        load_pci_config([PROC_MEM])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("$foo", "no such option foo in group [DEFAULT]", id="unknown-option"),
        pytest.param("${foo}", "no such option foo in group [DEFAULT]", id="braced-unknown"),
        pytest.param("$x.y", "no such group [x]", id="unknown-group"),
        pytest.param("${x.y}", "no such group [x]", id="braced-unknown-group"),
        pytest.param("$pci.nope", "no such option pci.nope in group [DEFAULT]", id="pci-nope"),
        pytest.param("$device_spec", "it refers back to itself", id="itself"),
        pytest.param("${pci.device_spec}", "it refers back to itself", id="braced-itself"),
    ],
)
def test_an_oslo_substitution_offpath_cannot_resolve_names_file_key_and_value(
    tmp_path: Path, value: str, reason: str
) -> None:
    raw = f'{{"physical_network": "{value}"}}'
    path = write(tmp_path, f'[pci]\ndevice_spec = {{"vendor_id": "15b3"}}\ndevice_spec = {raw}\n')
    with pytest.raises(ConfigValueError) as info:
        load_pci_config([path])
    assert (info.value.path, info.value.section, info.value.key) == (
        f"{path}:3",
        "pci",
        "device_spec",
    )
    assert info.value.value == raw
    assert info.value.message.endswith(
        f"{value} is an oslo.config substitution offpath cannot resolve: {reason}"
    )
    assert "$$" in info.value.hint


def test_the_failing_substitution_is_found_after_one_that_resolves(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[pci]\nreport_in_placement = true\ndevice_spec = {"physical_network": '
        '"$pci.report_in_placement"}\ndevice_spec = {"physical_network": "$x.y"}\n',
    )
    with pytest.raises(ConfigValueError) as info:
        load_pci_config([path])
    assert info.value.path == f"{path}:4"


def test_a_substitution_under_an_old_name_names_that_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[DEFAULT]\npci_alias = {"name": "${x.y}"}\n')
    with pytest.raises(ConfigValueError) as info:
        load_pci_config([path])
    assert (info.value.path, info.value.section, info.value.key) == (
        f"{path}:2",
        "DEFAULT",
        "pci_alias",
    )


def test_an_alias_substitution_names_the_alias_option(tmp_path: Path) -> None:
    path = write(tmp_path, '[pci]\nalias = {"name": "$nope"}\n')
    with pytest.raises(ConfigValueError, match=r"\[pci\] alias = "):
        load_pci_config([path])


def test_a_doubled_dollar_is_a_literal_dollar_as_in_nova(tmp_path: Path) -> None:
    path = write(tmp_path, '[pci]\ndevice_spec = {"physical_network": "$$x"}\n')
    assert load_pci_config([path]).device_spec == ('{"physical_network": "$x"}',)


def test_a_repeated_pci_section_adds_its_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[pci]\ndevice_spec = {"vendor_id": "15b3"}\n[DEFAULT]\nhost = h\n'
        '[pci]\ndevice_spec = {"vendor_id": "8086"}\n',
    )
    assert load_pci_config([path]).device_spec == (
        '{"vendor_id": "15b3"}',
        '{"vendor_id": "8086"}',
    )


def test_a_pci_section_with_only_deprecated_names_means_the_same(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[pci]\npassthrough_whitelist = {"vendor_id": "15b3"}\n'
        '[DEFAULT]\npci_alias = {"name": "a1"}\n',
    )
    config = load_pci_config([path])
    assert (config.device_spec, config.alias) == (('{"vendor_id": "15b3"}',), ('{"name": "a1"}',))
    assert len(config.notes) == 2


def test_unicode_values_come_through_unchanged(tmp_path: Path) -> None:
    value = '{"physical_network": "физсеть-\u00e9\U0001f600"}'
    path = write(tmp_path, f"[pci]\ndevice_spec = {value}\n")
    assert load_pci_config([path]).device_spec == (value,)


def test_an_empty_file_has_no_spec(tmp_path: Path) -> None:
    config = load_pci_config([write(tmp_path, "")])
    assert (config.device_spec, config.alias, config.report_in_placement) == ((), (), False)


def test_a_second_load_still_notes_the_deprecated_names(tmp_path: Path) -> None:
    # oslo.log reports each deprecation once per process; the notes must not depend on that.
    path = write(tmp_path, '[pci]\npassthrough_whitelist = {"vendor_id": "15b3"}\n')
    first = load_pci_config([path]).notes
    assert load_pci_config([path]).notes == first
    assert first == (
        'Deprecated: Option "passthrough_whitelist" from group "pci" is deprecated. '
        'Use option "device_spec" from group "pci".',
    )


_INI_PIECES = st.sampled_from(
    [
        "[pci]",
        "[DEFAULT]",
        "[libvirt]",
        "device_spec = ",
        "passthrough_whitelist = ",
        "pci_passthrough_whitelist = ",
        "alias = ",
        "pci_alias = ",
        "report_in_placement = ",
        '{"vendor_id": "15b3"}',
        "$",
        "${",
        "$$",
        # oslo.config substitutions: unknown option, unknown group, braced, itself, a real one.
        "$x",
        "$x.y",
        "${x.y}",
        "${x",
        "$device_spec",
        "${pci.alias}",
        "$pci.report_in_placement",
        "%",
        "=",
        ":",
        "#",
        " ",
        "\t",
        "true",
        "maybe",
        "\ufeff",
    ]
)
_INI_LINES = st.lists(
    st.lists(st.one_of(_INI_PIECES, st.text(max_size=4)), max_size=4).map("".join), max_size=8
).map("\n".join)


_INI_BYTES = _INI_LINES.map(lambda text: text.encode("utf-8", "replace"))


@settings(max_examples=60)
@given(data=st.one_of(st.binary(max_size=200), _INI_BYTES))
def test_any_file_content_gives_a_config_or_an_offpath_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch, "nova.conf")
        path.write_bytes(data)
        try:
            config = load_pci_config([path])
        except OffpathError:
            return
    assert all(isinstance(value, str) for value in (*config.device_spec, *config.alias))


# oslo.config's `$` substitutions, resolvable or not, as Nova's own nova.conf may hold them.
_SUBSTITUTIONS = st.sampled_from(
    [
        "$x",
        "${x}",
        "$x.y",
        "${x.y}",
        "$$",
        "$$x",
        "$",
        "${",
        "$DEFAULT.x",
        "$pci.nope",
        "${pci.alias}",
        "${pci.device_spec}",
        "$passthrough_whitelist",
        "$pci.report_in_placement",
    ]
)
_VALUES = st.lists(
    st.one_of(_SUBSTITUTIONS, st.text(alphabet='ab{}."$ ', max_size=4)), max_size=4
).map("".join)


@settings(max_examples=60)
@given(
    section=st.sampled_from(["pci", "DEFAULT"]),
    key=st.sampled_from(
        [
            "device_spec",
            "passthrough_whitelist",
            "pci_passthrough_whitelist",
            "alias",
            "pci_alias",
            "report_in_placement",
        ]
    ),
    value=_VALUES,
)
def test_any_substitution_gives_a_config_or_an_offpath_error(
    section: str, key: str, value: str
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch, "nova.conf")
        path.write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
        try:
            config = load_pci_config([path])
        except OffpathError:
            return
    assert all(isinstance(v, str) for v in (*config.device_spec, *config.alias))
