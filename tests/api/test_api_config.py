"""The [api] group of the service config: token, listen address, public URL, default project."""

from __future__ import annotations

from pathlib import Path

import pytest

from offpath.errors import ConfigValueError
from offpath.service_config import load_service_config


def test_defaults_serve_loopback_with_keystone_tokens_only(tmp_path: Path) -> None:
    config = load_service_config([], state_dir=tmp_path)
    assert (config.api_listen, config.api_port) == ("127.0.0.1", 8774)
    # The static token is opt-in.
    assert config.api_auth_token == ""
    assert config.api_public_endpoint == ""
    assert config.api_default_project == "admin"
    assert config.token_expiration == 3600
    assert config.service_user is None


def test_keystones_public_endpoint_expiration_and_novas_service_user_are_read(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "offpath.conf"
    conf.write_text(
        "[DEFAULT]\npublic_endpoint = https://cloud.example/\n[token]\nexpiration = 600\n"
        "[service_user]\nauth_url = https://cloud.example/identity/v3\nusername = agent\n"
        "password = pw\nproject_name = service\n"
    )
    config = load_service_config([conf], state_dir=tmp_path)
    assert config.api_public_endpoint == "https://cloud.example"
    assert config.token_expiration == 600
    assert config.service_user is not None
    assert (config.service_user.username, config.service_user.project_name) == (
        "agent",
        "service",
    )


def test_a_service_user_without_password_names_the_key(tmp_path: Path) -> None:
    conf = tmp_path / "offpath.conf"
    conf.write_text("[service_user]\nauth_url = http://x/identity/v3\nusername = agent\n")
    with pytest.raises(ConfigValueError) as caught:
        load_service_config([conf], state_dir=tmp_path)
    assert (caught.value.section, caught.value.key) == ("service_user", "password")
    assert str(conf) in caught.value.message


def test_the_api_group_is_read(tmp_path: Path) -> None:
    conf = tmp_path / "offpath.conf"
    conf.write_text(
        "[api]\nauth_token = change-me\nlisten = 0.0.0.0\nport = 9774\n"
        "public_endpoint = http://cloud.example:9774/\ndefault_project = demo\n"
    )
    config = load_service_config([conf], state_dir=tmp_path)
    assert config.api_auth_token == "change-me"
    assert (config.api_listen, config.api_port) == ("0.0.0.0", 9774)
    assert config.api_public_endpoint == "http://cloud.example:9774"
    assert config.api_default_project == "demo"


def test_a_port_out_of_range_is_a_config_error(tmp_path: Path) -> None:
    conf = tmp_path / "offpath.conf"
    conf.write_text("[api]\nport = 70000\n")
    with pytest.raises(ConfigValueError) as caught:
        load_service_config([conf], state_dir=tmp_path)
    assert (caught.value.section, caught.value.key) == ("api", "port")


def test_the_nova_endpoint_defaults_to_the_clouds_own_and_is_read_when_set(tmp_path: Path) -> None:
    # Empty: `offpath serve` posts events to its own compute API, wherever it listens.
    assert load_service_config([], state_dir=tmp_path).nova_endpoint == ""
    conf = tmp_path / "nova.conf"
    conf.write_text("[nova]\nendpoint_override = http://balancer.example/compute/v2.1\n")
    config = load_service_config([conf], state_dir=tmp_path)
    assert config.nova_endpoint == "http://balancer.example/compute/v2.1"
