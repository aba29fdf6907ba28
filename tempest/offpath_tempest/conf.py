"""tempest.conf for offpath: its endpoints, the seeded resources, and what it supports.

Each feature flag says what offpath serves: a test of an unserved feature
skips rather than fails. Values are Tempest 47.0.0 option names.
"""

from __future__ import annotations

import configparser
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from offpath_tempest.resources import Seeded

MIN_MICROVERSION: Final = "2.1"
# offpath's compute API maximum (api/microversion.py MAX_VERSION).
MAX_MICROVERSION: Final = "2.96"
REGION: Final = "RegionOne"
# The network service's extension aliases (GET /v2.0/extensions).
NETWORK_EXTENSIONS: Final = (
    "binding",
    "binding-extended",
    "provider",
    "multi-provider",
    "security-group",
)


@dataclass(frozen=True, slots=True)
class Paths:
    """Where Tempest keeps its accounts file, logs and locks."""

    accounts: Path
    log_dir: Path
    lock_dir: Path


def tempest_conf(base: str, seeded: Seeded, paths: Paths, *, compute_nodes: int) -> str:
    """The whole tempest.conf text."""
    sections: dict[str, dict[str, str]] = {
        "DEFAULT": {"log_dir": str(paths.log_dir), "log_file": "tempest.log", "debug": "true"},
        "oslo_concurrency": {"lock_path": str(paths.lock_dir)},
        "auth": {
            "use_dynamic_credentials": "false",
            "test_accounts_file": str(paths.accounts),
            "default_credentials_domain_name": "Default",
            "create_isolated_networks": "false",
        },
        "identity": {
            "uri_v3": f"{base}/identity/v3",
            "auth_version": "v3",
            "region": REGION,
            "v3_endpoint_type": "public",
        },
        "identity-feature-enabled": {"api_v2": "false"},
        "compute": {
            "image_ref": seeded.image,
            "image_ref_alt": seeded.image_alt,
            "flavor_ref": seeded.flavor,
            "flavor_ref_alt": seeded.flavor_alt,
            # Servers boot without ports: offpath creates no port from a network uuid.
            "fixed_network_name": "",
            "min_microversion": MIN_MICROVERSION,
            "max_microversion": MAX_MICROVERSION,
            "min_compute_nodes": str(compute_nodes),
            "build_timeout": "60",
            "build_interval": "1",
            "region": REGION,
            "endpoint_type": "publicURL",
        },
        "compute-feature-enabled": {
            "live_migration": "true",
            "block_migration_for_live_migration": "false",
            "can_migrate_between_any_hosts": "true",
            "cold_migration": "true",
            "resize": "true",
            "shelve": "true",
            "shelve_migrate": "false",
            "suspend": "true",
            "pause": "false",
            "rescue": "false",
            "stable_rescue": "false",
            "console_output": "false",
            "vnc_console": "false",
            "spice_console": "false",
            "serial_console": "false",
            "snapshot": "false",
            "change_password": "false",
            "enable_instance_password": "true",
            "interface_attach": "true",
            "disk_config": "false",
            "personality": "false",
            "metadata_service": "false",
            "config_drive": "false",
            "attach_encrypted_volume": "false",
            "swap_volume": "false",
            "volume_multiattach": "false",
            "volume_backed_live_migration": "false",
            "ide_bus": "false",
        },
        "network": {
            "region": REGION,
            "endpoint_type": "publicURL",
            "project_networks_reachable": "false",
            "shared_physical_network": "true",
            "port_vnic_type": "direct",
            "public_network_id": "",
            "floating_network_name": "",
        },
        "network-feature-enabled": {
            "api_extensions": ",".join(NETWORK_EXTENSIONS),
            "available_features": "",
            "ipv6": "false",
            "floating_ips": "false",
            "port_security": "false",
            "port_admin_state_change": "true",
        },
        "image": {"region": REGION, "endpoint_type": "publicURL"},
        "image-feature-enabled": {
            "api_v2": "true",
            "import_image": "false",
            "os_glance_reserved": "false",
            "manage_locations": "false",
            "image_conversion": "false",
            "do_secure_hash": "false",
        },
        "service_available": {
            "nova": "true",
            "neutron": "true",
            "glance": "true",
            "cinder": "false",
            "swift": "false",
            "horizon": "false",
        },
        "validation": {"run_validation": "false"},
    }
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_dict(sections)
    text = io.StringIO()
    parser.write(text)
    return text.getvalue()
