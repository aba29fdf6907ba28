"""PCI requests built from a port and its network, or from a flavor's PCI alias, as in Nova.

Request specs hold strings because pool tags are compared as
case-insensitive strings: `remote_managed` is "True" or "False", never a
bool. A request from an alias carries no `remote_managed` key at all, so
pools of remote-managed devices never serve it.
"""

from __future__ import annotations

import uuid

from offpath.jsonvalue import JsonValue
from offpath.pci.alias import PciAlias
from offpath.pci.booleans import lenient_bool
from offpath.pci.request import NumaPolicy, PciRequest, RequestSpec
from offpath.ports.network import Network, physnet_info
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType, needs_pci_request, request_dev_type


def _new_request_id() -> str:
    return str(uuid.uuid4())


def request_from_port(
    port: Port,
    network: Network,
    *,
    flavor_numa_policy: NumaPolicy | None = None,
    request_id: str | None = None,
) -> PciRequest | None:
    """The PCI request of `port` on `network`; None when its vnic type takes no PCI device."""
    if not needs_pci_request(port.vnic_type):
        return None
    spec: dict[str, JsonValue] = {
        "physical_network": physnet_info(network).physical_network,
        "remote_managed": str(port.vnic_type is VnicType.REMOTE_MANAGED),
    }
    dev_type = request_dev_type(port.vnic_type)
    if dev_type is not None:
        spec["dev_type"] = dev_type.value
    if "trusted" in port.binding_profile:
        spec["trusted"] = str(lenient_bool(port.binding_profile["trusted"]))
    return PciRequest(
        count=1,
        spec=(spec,),
        request_id=request_id or _new_request_id(),
        requester_id=port.id,
        numa_policy=port.numa_affinity_policy or flavor_numa_policy,
    )


def requests_from_alias(
    alias: PciAlias,
    count: int,
    *,
    flavor_numa_policy: NumaPolicy | None = None,
    request_id: str | None = None,
) -> PciRequest:
    """The request for `count` devices of a flavor's alias; a flavor/image policy wins."""
    specs: tuple[RequestSpec, ...] = tuple(dict(spec) for spec in alias.specs)
    return PciRequest(
        count=count,
        spec=specs,
        request_id=request_id or _new_request_id(),
        alias_name=alias.name,
        numa_policy=flavor_numa_policy or NumaPolicy(alias.numa_policy),
    )
