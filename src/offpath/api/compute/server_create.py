"""A server create, checked as Nova checks it, then handed to the conductor.

Everything a request names is looked up before the conductor is asked, so
a bad request is a 4xx with Nova's message and leaves nothing behind:
flavor ("Invalid flavorRef provided."), image ("Can not find requested
image"), the caller's key pair ("Invalid key_name provided."), each port
("Port id ... could not be found.", also for another project's port;
PortInUse for a port another server uses).
"""

from __future__ import annotations

import uuid
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from offpath.api.compute.context import at_least
from offpath.api.compute.flavors import visible_flavor
from offpath.api.deps import ApiDeps
from offpath.api.microversion import Microversion
from offpath.conductor.instances import BootRequest, InstanceView
from offpath.conductor.server_metadata import check_metadata_items
from offpath.db.engine import reading
from offpath.db.flavors import FlavorRecord
from offpath.db.images import ACTIVE, get_image
from offpath.db.key_pairs import get_key_pair
from offpath.errors import (
    FlavorNotFound,
    ImageNotFound,
    KeypairNotFound,
    PortInUse,
    PortNotFound,
    RequestBodyInvalid,
    RequestedPortNotFound,
    ServerRequestInvalid,
)
from offpath.rpc.context import RequestContext

# Nova's metadata keys: letters, digits, spaces and "-_:.", 1 to 255 of them.
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_:. ]{1,255}$")]
MetadataValue = Annotated[str, StringConstraints(max_length=255)]
# Nova bounds a multiple create by the instance quota; offpath has no quotas.
MAX_SERVERS_PER_REQUEST: Final = 100
_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class NetworkRequest(BaseModel):
    """One entry of `networks`: offpath boots with existing ports."""

    model_config = ConfigDict(extra="forbid")

    port: str | None = Field(default=None, pattern=_UUID)
    uuid: str | None = Field(default=None, max_length=255)
    fixed_ip: str | None = Field(default=None, max_length=64)
    tag: str | None = Field(default=None, max_length=60)


class ServerCreate(BaseModel):
    """The `server` object of a create; keys offpath does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=255)
    flavorRef: str = Field(min_length=1, max_length=255)  # noqa: N815 - Nova's key
    imageRef: str = Field(default="", max_length=255)  # noqa: N815 - Nova's key
    networks: list[NetworkRequest] | Literal["none", "auto"] | None = None
    # Checked as Nova checks them, though offpath does not keep the access addresses.
    accessIPv4: IPv4Address | None = None  # noqa: N815 - Nova's key
    accessIPv6: IPv6Address | None = None  # noqa: N815 - Nova's key
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict)
    # Nova answers the create with the password asked for (the guest is not told here).
    adminPass: str | None = Field(default=None, max_length=255)  # noqa: N815 - Nova's key
    min_count: int = Field(default=1, ge=1, le=MAX_SERVERS_PER_REQUEST)
    # Nova's default: as many as min_count.
    max_count: int | None = Field(default=None, ge=1, le=MAX_SERVERS_PER_REQUEST)
    key_name: str | None = Field(default=None, min_length=1, max_length=255)


class ServerCreateBody(BaseModel):
    """`POST /servers`."""

    server: ServerCreate


def create_server(
    deps: ApiDeps, ctx: RequestContext, body: ServerCreate, version: Microversion
) -> InstanceView:
    """Check the request, then boot; the conductor's view of the (first) new server."""
    project = ctx.project_id or deps.default_project
    port_ids = _port_ids(body, version, project)
    count = _count(body, port_ids)
    check_metadata_items(len(body.metadata))
    flavor = _flavor(deps, ctx, body.flavorRef)
    image_ref = _image(deps, body.imageRef, project, flavor)
    key_data = _key_data(deps, ctx, body.key_name)
    for port_id in port_ids:
        _check_port(deps, port_id, project)
    views = [
        deps.conductor.boot(
            BootRequest(
                instance_uuid=str(uuid.uuid4()),
                # Nova's multi_instance_display_name_template: NAME-1, NAME-2, ...
                name=body.name if count == 1 else f"{body.name}-{index}",
                project_id=project,
                user_id=ctx.user_id,
                flavor=flavor.flavor(),
                port_ids=port_ids,
                request_id=ctx.request_id,
                image_ref=image_ref,
                flavor_id=flavor.flavorid,
                metadata=dict(body.metadata),
                key_name=body.key_name,
                key_data=key_data,
            )
        )
        for index in range(1, count + 1)
    ]
    return views[0]


def _count(body: ServerCreate, port_ids: tuple[str, ...]) -> int:
    """How many servers to boot: max_count (each one is scheduled on its own)."""
    count = body.min_count if body.max_count is None else body.max_count
    if body.min_count > count:
        raise ServerRequestInvalid(
            "min_count must be <= max_count", hint="ask for at least as many as the minimum"
        )
    if count > 1 and port_ids:
        raise ServerRequestInvalid(
            "Unable to launch multiple instances with a single configured port ID. "
            "Please launch your instance one by one with different ports.",
            hint="create one server per port",
        )
    return count


def _port_ids(body: ServerCreate, version: Microversion, project: str) -> tuple[str, ...]:
    networks = body.networks
    if networks is None:
        if at_least(version, 37):
            raise RequestBodyInvalid(
                "Invalid input for field/attribute server. 'networks' is a required property"
            )
        return ()
    if networks == "none":
        return ()
    if networks == "auto":
        raise ServerRequestInvalid(
            f"Unable to automatically allocate a network for project {project}",
            hint="create a port (`openstack port create`) and boot with networks=[{'port': ...}]",
        )
    ids: list[str] = []
    for entry in networks:
        if entry.port is None:
            raise ServerRequestInvalid(
                "offpath boots with existing ports only: each networks entry needs a port",
                hint="create the port first and pass networks=[{'port': <port id>}]",
            )
        port_id = str(uuid.UUID(entry.port))
        if port_id in ids:
            raise ServerRequestInvalid(
                f"Port {port_id} is requested more than once", hint="name each port once"
            )
        ids.append(port_id)
    return tuple(ids)


def _flavor(deps: ApiDeps, ctx: RequestContext, flavor_ref: str) -> FlavorRecord:
    # Nova accepts a flavor's href as well as its id.
    flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        return visible_flavor(deps, ctx, flavor_id)
    except FlavorNotFound:
        raise ServerRequestInvalid(
            "Invalid flavorRef provided.", hint="`openstack flavor list` shows the flavors"
        ) from None


def _image(deps: ApiDeps, image_ref: str, project: str, flavor: FlavorRecord) -> str:
    if not image_ref:
        return ""
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        with reading(deps.cells.api) as session:
            image = get_image(session, image_id, project_id=project)
    except ImageNotFound:
        raise ServerRequestInvalid(
            "Can not find requested image", hint="`openstack image list` shows the images"
        ) from None
    if image.status != ACTIVE:
        raise ServerRequestInvalid(
            f"Image {image_id} is not active.", hint="upload the image's data first"
        )
    if flavor.memory_mb < image.min_ram:
        raise ServerRequestInvalid(
            "Flavor's memory is too small for requested image.",
            hint=f"the image needs {image.min_ram} MB: pick a larger flavor",
        )
    if flavor.root_gb and flavor.root_gb < image.min_disk:
        raise ServerRequestInvalid(
            "Flavor's disk is too small for requested image.",
            hint=f"the image needs {image.min_disk} GB of disk: pick a larger flavor",
        )
    return image.id


def _key_data(deps: ApiDeps, ctx: RequestContext, key_name: str | None) -> str | None:
    """The public key of the caller's key pair `key_name`; None when no key pair is asked."""
    if key_name is None:
        return None
    try:
        with reading(deps.cells.api) as session:
            return get_key_pair(session, ctx.user_id or "", key_name).public_key
    except KeypairNotFound:
        raise ServerRequestInvalid(
            "Invalid key_name provided.", hint="`openstack keypair list` shows your key pairs"
        ) from None


def _check_port(deps: ApiDeps, port_id: str, project: str) -> None:
    try:
        port = deps.ports.show_port(port_id)
    except PortNotFound:
        raise RequestedPortNotFound(port_id) from None
    if port.project_id and port.project_id != project:
        # Nova reads ports as the caller, who cannot see another project's.
        raise RequestedPortNotFound(port_id)
    if port.device_id:
        raise PortInUse(port_id)
