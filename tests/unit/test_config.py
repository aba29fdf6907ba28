"""The [pci] section of a nova.conf, read with oslo.config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offpath.config import load_pci_config
from offpath.errors import ConfigFileError, ConfigValueError

EXAMPLE = Path(__file__).parents[2] / "examples" / "bluefield2-nova.conf"


def write(tmp_path: Path, text: str, name: str = "nova.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_config_loads_both_specs_and_the_alias() -> None:
    config = load_pci_config([EXAMPLE])
    assert len(config.device_spec) == 2
    assert '"remote_managed": "true"' in config.device_spec[0]
    assert len(config.alias) == 1
    assert config.report_in_placement is False
    assert config.notes == ()


def test_other_sections_of_a_nova_conf_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[DEFAULT]\nhost = c1\nmy_ip = 10.0.0.1\n[libvirt]\nvirt_type = kvm\n"
        '[pci]\ndevice_spec = {"vendor_id": "15b3"}\n[neutron]\nauth_type = password\n',
    )
    assert load_pci_config([path]).device_spec == ('{"vendor_id": "15b3"}',)


def test_repeated_keys_keep_every_value_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[pci]\ndevice_spec = {"vendor_id": "15b3"}\ndevice_spec = [{"vendor_id": "8086"}]\n',
    )
    assert load_pci_config([path]).device_spec == (
        '{"vendor_id": "15b3"}',
        '[{"vendor_id": "8086"}]',
    )


@pytest.mark.parametrize(
    ("text", "option"),
    [
        pytest.param(
            '[pci]\npassthrough_whitelist = {"a": "1"}\n',
            "passthrough_whitelist",
            id="pci-passthrough_whitelist",
        ),
        pytest.param(
            '[DEFAULT]\npci_passthrough_whitelist = {"a": "1"}\n',
            "pci_passthrough_whitelist",
            id="default-pci_passthrough_whitelist",
        ),
    ],
)
def test_deprecated_spec_names_are_read_and_noted(tmp_path: Path, text: str, option: str) -> None:
    config = load_pci_config([write(tmp_path, text)])
    assert config.device_spec == ('{"a": "1"}',)
    assert any(option in note and "device_spec" in note for note in config.notes)


def test_deprecated_alias_name_is_read(tmp_path: Path) -> None:
    config = load_pci_config([write(tmp_path, '[DEFAULT]\npci_alias = {"name": "x"}\n')])
    assert config.alias == ('{"name": "x"}',)


def test_later_config_file_adds_to_multi_valued_options(tmp_path: Path) -> None:
    first = write(tmp_path, '[pci]\ndevice_spec = {"vendor_id": "15b3"}\n', "a.conf")
    second = write(tmp_path, "[pci]\nreport_in_placement = true\n", "b.conf")
    config = load_pci_config([first, second])
    assert config.device_spec == ('{"vendor_id": "15b3"}',)
    assert config.report_in_placement is True


def test_locate_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[DEFAULT]\n\n[pci]\ndevice_spec = {"vendor_id": "zz"}\n')
    config = load_pci_config([path])
    assert config.locate(config.device_spec[0]) == f"{path}:4"


def test_missing_file_is_a_config_file_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="no such file") as info:
        load_pci_config([tmp_path / "absent.conf"])
    assert str(tmp_path / "absent.conf") in info.value.message


def test_directory_is_a_config_file_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="is a directory"):
        load_pci_config([tmp_path])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_config_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[pci]\n")
    path.chmod(0)
    with pytest.raises(ConfigFileError, match="permission denied"):
        load_pci_config([path])


def test_not_an_ini_file_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[pci]\ndevice_spec\n")
    with pytest.raises(ConfigFileError) as info:
        load_pci_config([path])
    assert str(path) in info.value.message
    assert "not an INI file" in info.value.message


def test_bad_boolean_names_file_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[pci]\nreport_in_placement = maybe\n")
    with pytest.raises(ConfigValueError) as info:
        load_pci_config([path])
    error = info.value
    assert (error.section, error.key, error.value) == ("pci", "report_in_placement", "maybe")
    assert str(path) in error.message
    assert "true or false" in error.hint
