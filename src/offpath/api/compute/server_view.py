"""A server as the compute API shows it: Nova's keys, shaped by the request's microversion."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from offpath.api.compute.context import at_least
from offpath.api.compute.security_groups import shown_groups
from offpath.api.compute.server_status import power_state, server_status
from offpath.api.deps import PortsClient
from offpath.api.microversion import Microversion
from offpath.conductor.server_reads import ServerRecord
from offpath.errors import OffpathError
from offpath.ports.port import Port

LOG = logging.getLogger(__name__)


def timestamp(moment: datetime | None) -> str | None:
    """Nova's timestamp format: ISO 8601, seconds, `Z`."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def links(base: str, kind: str, ident: str) -> list[dict[str, str]]:
    """The self and bookmark links of a compute resource."""
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/{kind}/{ident}"},
        {"rel": "bookmark", "href": f"{base}/compute/{kind}/{ident}"},
    ]


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: the host hashed with the project, so projects cannot compare hosts."""
    if not host:
        return ""
    return hashlib.sha224(f"{project_id}{host}".encode()).hexdigest()


# Nova shows a server's progress in these statuses only.
_PROGRESS_STATUSES: Final = frozenset(
    {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
)


def server_brief(server: ServerRecord, base: str) -> dict[str, Any]:
    """The entry of `GET /servers`: id, name, links."""
    return {"id": server.uuid, "name": server.name, "links": links(base, "servers", server.uuid)}


@dataclass(frozen=True, slots=True)
class HostKeys:
    """Which of a server's host keys the caller's policy lets it see (Nova: the admin's)."""

    # OS-EXT-SRV-ATTR:host, hypervisor_hostname, instance_name.
    extended_attributes: bool
    host_status: bool


def server_detail(
    server: ServerRecord,
    base: str,
    version: Microversion,
    ports: list[Port],
    network_names: dict[str, str],
    *,
    shown: HostKeys,
    group_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The body of `GET /servers/{id}` (and each entry of `/servers/detail`)."""
    status = server_status(server.vm_state, server.task_state)
    body: dict[str, Any] = {
        "id": server.uuid,
        "name": server.name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id or "",
        "metadata": dict(server.metadata),
        "hostId": host_id(server.project_id, server.host),
        "image": _image(server, base),
        "flavor": _flavor(server, base, version),
        "created": timestamp(server.created_at),
        "updated": timestamp(server.updated_at),
        "addresses": _addresses(ports, network_names),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(base, "servers", server.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": "nova" if server.host else "",
        "config_drive": "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": timestamp(server.created_at) if status == "ACTIVE" else None,
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": power_state(server.vm_state),
        "os-extended-volumes:volumes_attached": [],
    }
    # Nova leaves the key out when no port of the server has a group.
    if groups := shown_groups(ports, group_names or {}):
        body["security_groups"] = groups
    if shown.extended_attributes:
        body["OS-EXT-SRV-ATTR:host"] = server.host
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.host
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{server.uuid[:8]}"
    if status in _PROGRESS_STATUSES:
        body["progress"] = 0
    # Nova adds each key at its microversion; clients that validate the body
    # (Tempest) refuse a key their version does not know.
    for minor, key, value in (
        (9, "locked", False),
        (19, "description", None),
        (26, "tags", []),
        (63, "trusted_image_certificates", None),
        (71, "server_groups", []),
        (73, "locked_reason", None),
        (96, "pinned_availability_zone", None),
    ):
        if at_least(version, minor):
            body[key] = value
    if shown.host_status and at_least(version, 16):
        body["host_status"] = "UP" if server.host else ""
    if server.fault is not None and status in ("ERROR", "DELETED"):
        body["fault"] = {
            "code": server.fault.code,
            "message": server.fault.message,
            "created": timestamp(server.fault.created_at),
            "details": server.fault.details,
        }
    return body


def server_ports(ports: PortsClient, server_uuid: str) -> tuple[list[Port], dict[str, str]]:
    """The server's ports and their networks' names; none when the network service fails.

    Nova shows addresses from its cache; a network service that does not
    answer must not make the server unreadable.
    """
    try:
        found = ports.list_ports(device_id=server_uuid)
        names: dict[str, str] = {}
        for port in found:
            if port.network_id not in names:
                network = ports.show_network(port.network_id)
                names[port.network_id] = network.name or network.id
    except OffpathError as exc:
        LOG.warning("server %s: ports not read: %s", server_uuid, exc.message)
        return [], {}
    return found, names


def _image(server: ServerRecord, base: str) -> dict[str, Any] | str:
    if not server.image_ref:
        # Nova's shape for a server booted from a volume.
        return ""
    return {
        "id": server.image_ref,
        "links": [{"rel": "bookmark", "href": f"{base}/compute/images/{server.image_ref}"}],
    }


def _flavor(server: ServerRecord, base: str, version: Microversion) -> dict[str, Any]:
    flavor = server.flavor
    if not at_least(version, 47):
        ident = server.flavor_id or str(flavor.get("name", ""))
        return {
            "id": ident,
            "links": [{"rel": "bookmark", "href": f"{base}/compute/flavors/{ident}"}],
        }
    return {
        "original_name": flavor.get("name", ""),
        "vcpus": flavor.get("vcpus", 0),
        "ram": flavor.get("memory_mb", 0),
        "disk": flavor.get("root_gb", 0),
        "ephemeral": flavor.get("ephemeral_gb", 0),
        "swap": flavor.get("swap", 0),
        "extra_specs": _specs(flavor.get("extra_specs")),
    }


def _specs(stored: object) -> dict[str, str]:
    if not isinstance(stored, dict):
        return {}
    return {str(key): str(value) for key, value in stored.items()}


def _addresses(ports: list[Port], network_names: dict[str, str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for port in ports:
        entries = found.setdefault(network_names.get(port.network_id, port.network_id), [])
        for fixed in port.fixed_ips:
            entries.append(
                {
                    "version": 6 if ":" in fixed.ip_address else 4,
                    "addr": fixed.ip_address,
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": port.mac_address,
                }
            )
    return found
