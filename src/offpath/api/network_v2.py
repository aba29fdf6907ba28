"""The Neutron-shaped network API (`/network/v2.0`) and offpath's extensions for the DPU side.

The app mounts `network_router(...)` under `/network` (NETWORK_PREFIX): the
unversioned discovery document at `/network` (clients need an unversioned
endpoint), Neutron's networks, subnets and ports under `/network/v2.0`,
and, outside Neutron's namespace, `/network/offpath/...`: the SR-IOV NIC
agents' mappings and VF-up reports, and the DPU chassis registry.

Every error is Neutron's shape, `{"NeutronError": {"type", "message",
"detail"}}`, with the status of its kind (a binding no driver makes,
`PortBindingError`, answers 500 as in Neutron). Every request but
discovery is `authenticate`'s caller, checked against Neutron's rules
(`api.network_policy`): the admin and the services see every project's
resources, others their project's and shared networks.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures'
# annotations at run time, and the dependency aliases are local to the router.
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from offpath.api.auth import Ctx
from offpath.api.errors import HttpFault, keystone_challenge
from offpath.api.network_policy import (
    caller_of,
    check_project_choice,
    network_create_rules,
    network_target,
    network_update_rules,
    new_resource_target,
    port_rules,
    port_target,
    security_group_target,
    shown_port,
    subnet_target,
)
from offpath.api.policy import Policy
from offpath.errors import (
    BindingProfileInvalid,
    InvalidInput,
    NetworkNotFound,
    NetworkRequestInvalid,
    OffpathError,
    PortBindingError,
    PortNotFound,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
    SubnetNotFound,
    Unauthenticated,
    kind_of,
)
from offpath.jsonvalue import JsonValue
from offpath.network.caller import ADMIN
from offpath.network.neutron_json import (
    NetworkSpec,
    PortSpec,
    SubnetSpec,
    binding_json,
    bulk,
    chassis_json,
    check_text,
    network_json,
    parse_binding_create,
    parse_network_create,
    parse_network_update,
    parse_port_create,
    parse_port_update,
    parse_security_group_create,
    parse_security_group_rule_create,
    parse_security_group_update,
    parse_subnet_create,
    parse_subnet_update,
    port_json,
    security_group_json,
    security_group_rule_json,
    subnet_json,
)
from offpath.network.records import Chassis, NetworkRecord, PortRecord
from offpath.network.service import NetworkService
from offpath.rpc.context import RequestContext

LOG = logging.getLogger(__name__)

NETWORK_PREFIX: Final = "/network"
# The most VFs a PF can have (PCI SR-IOV TotalVFs is 16 bits).
MAX_COUNT: Final = 65535
EXTENSIONS: Final = (
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    (
        "binding-extended",
        "Port Bindings Extended",
        "Expose port bindings of a virtual port to external application",
    ),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("multi-provider", "Multi Provider Network", "Expose mapping of virtual networks to segments"),
    ("security-group", "security-group", "The security groups extension."),
)
# Filters the database answers; the others are matched on the rendered objects.
_PORT_QUERY: Final = {
    "device_id": "device_id",
    "binding:host_id": "host",
    "network_id": "network_id",
}
_NOT_FILTERS: Final = frozenset(
    {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}
)

ServiceFactory = Callable[[], NetworkService]
T = TypeVar("T")


def neutron_error(exc: OffpathError) -> JSONResponse:
    """An offpath error as Neutron answers it: its status and a NeutronError body."""
    if isinstance(exc, BindingProfileInvalid):
        kind, message = "InvalidInput", f"Invalid input for operation: {exc.message}"
    elif isinstance(exc, InvalidInput):
        kind, message = "InvalidInput", exc.message
    else:
        kind, message = type(exc).__name__, exc.message
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    status = kind_of(type(exc)).http_status
    if isinstance(exc, PortBindingError):
        # Neutron's status for it; Nova reads a 409 on activation as "already active".
        status = 500
    return JSONResponse(body, status_code=status)


class NeutronRoute(APIRoute):
    """A route whose offpath errors and malformed requests answer in Neutron's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, translating errors."""
        handler = super().get_route_handler()

        async def translated(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as exc:
                LOG.info("%s %s: %s", request.method, request.url.path, exc)
                return _fault(request, HttpFault(401, exc.message))
            except HttpFault as fault:
                # A 401 or a policy's 403 (PolicyNotAuthorized), in Neutron's shape.
                return _fault(request, fault)
            except OffpathError as exc:
                return neutron_error(exc)
            except RequestValidationError as exc:
                return neutron_error(NetworkRequestInvalid(_validation_message(exc)))

        return translated


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "Malformed request body"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "Malformed request body: not JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"Invalid input for {where or 'the request'}. Reason: {first.get('msg', 'invalid')}."


def _fault(request: Request, fault: HttpFault) -> JSONResponse:
    body = {"NeutronError": {"type": fault.error_type, "message": fault.message, "detail": ""}}
    headers = keystone_challenge(request) if fault.status == 401 else None
    return JSONResponse(body, status_code=fault.status, headers=headers)


def network_router(service_factory: ServiceFactory, *, policy: Policy) -> APIRouter:
    """The network API's routes, to mount under NETWORK_PREFIX; callers are `authenticate`'s."""
    router = APIRouter(route_class=NeutronRoute)

    def service() -> NetworkService:
        return service_factory()

    # Type aliases, named as types, over this router's own dependencies.
    Svc = Annotated[NetworkService, Depends(service)]  # noqa: N806
    Doc = Annotated[Any, Body()]  # noqa: N806

    def authorize(ctx: RequestContext, rules: list[str], target: Mapping[str, object]) -> None:
        policy.authorize_all(ctx, rules, target)

    def network_of(svc: NetworkService, network_id: str) -> NetworkRecord:
        # Read as the service: a rule's target needs the network of what the caller sees.
        return svc.get_network(ADMIN, network_id)

    def readable_network(ctx: RequestContext, record: NetworkRecord) -> bool:
        return policy.allows(ctx, "get_network", network_target(record))

    def shown(ctx: RequestContext, record: PortRecord, network: NetworkRecord) -> dict[str, Any]:
        return shown_port(policy, ctx, port_json(record), port_target(record, network))

    def authorize_network_create(ctx: RequestContext, spec: NetworkSpec) -> None:
        check_project_choice(ctx, spec.project_id)
        target = {"project_id": spec.project_id or ctx.project_id}
        authorize(ctx, network_create_rules(spec), {**target, "tenant_id": target["project_id"]})

    def authorize_subnet_create(svc: NetworkService, ctx: RequestContext, spec: SubnetSpec) -> None:
        check_project_choice(ctx, spec.project_id)
        network = svc.get_network(caller_of(ctx), spec.network_id)
        authorize(ctx, ["create_subnet"], new_resource_target(ctx, spec.project_id, network))

    def authorize_port_create(
        svc: NetworkService, ctx: RequestContext, spec: PortSpec
    ) -> NetworkRecord:
        check_project_choice(ctx, spec.project_id)
        network = svc.get_network(caller_of(ctx), spec.network_id)
        authorize(
            ctx,
            port_rules(policy, "create_port", spec.changes),
            new_resource_target(ctx, spec.project_id, network),
        )
        return network

    def visible_port(svc: NetworkService, ctx: RequestContext, port_id: str) -> PortRecord:
        # Neutron answers a port the caller may not read as absent, never as forbidden.
        record = svc.get_port(caller_of(ctx), port_id)
        network = network_of(svc, record.port.network_id)
        if not policy.allows(ctx, "get_port", port_target(record, network)):
            raise PortNotFound(port_id)
        return record

    def port_action(
        svc: NetworkService, ctx: RequestContext, port_id: str, rules: list[str]
    ) -> PortRecord:
        record = visible_port(svc, ctx, port_id)
        authorize(ctx, rules, port_target(record, network_of(svc, record.port.network_id)))
        return record

    def discovery(request: Request) -> dict[str, Any]:
        base = str(request.url).rstrip("/")
        return {
            "versions": [
                {
                    "id": "v2.0",
                    "status": "CURRENT",
                    "links": [{"rel": "self", "href": f"{base}/v2.0/"}],
                }
            ]
        }

    router.add_api_route("", discovery, methods=["GET"], summary="Network API versions")

    @router.get("/v2.0", summary="Network API resources")
    @router.get("/v2.0/", include_in_schema=False)
    def resources(request: Request, ctx: Ctx) -> dict[str, Any]:
        base = str(request.url).rstrip("/")
        return {
            "resources": [
                {
                    "name": name,
                    "collection": f"{name}s",
                    "links": [{"rel": "self", "href": f"{base}/{name}s"}],
                }
                for name in ("network", "subnet", "port", "security-group", "security-group-rule")
            ]
        }

    @router.get("/v2.0/extensions")
    def extensions(ctx: Ctx) -> dict[str, Any]:
        return {"extensions": [_extension(*ext) for ext in EXTENSIONS]}

    @router.get("/v2.0/extensions/{alias}")
    def extension(alias: str, ctx: Ctx) -> Response:
        for ext in EXTENSIONS:
            if ext[0] == alias:
                return JSONResponse({"extension": _extension(*ext)})
        body = {
            "NeutronError": {
                "type": "ExtensionNotFound",
                "message": f"Extension with alias {alias} does not exist",
                "detail": "",
            }
        }
        return JSONResponse(body, status_code=404)

    # -- networks -------------------------------------------------------------------

    @router.post("/v2.0/networks", status_code=201)
    def create_network(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        if (items := bulk(body, "network", "networks")) is not None:
            specs = [parse_network_create(item) for item in items]
            for spec in specs:
                authorize_network_create(ctx, spec)
            made = _all_or_none(
                [partial(svc.create_network, caller_of(ctx), spec) for spec in specs],
                undo=lambda record: svc.delete_network(caller_of(ctx), record.network.id),
            )
            return {"networks": [network_json(record) for record in made]}
        spec = parse_network_create(body)
        authorize_network_create(ctx, spec)
        return {"network": network_json(svc.create_network(caller_of(ctx), spec))}

    @router.get("/v2.0/networks")
    def list_networks(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        records = svc.list_networks(caller_of(ctx))
        bodies = [network_json(r) for r in records if readable_network(ctx, r)]
        return {"networks": _select(bodies, request)}

    @router.get("/v2.0/networks/{network_id}")
    def show_network(network_id: str, request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        record = svc.get_network(caller_of(ctx), network_id)
        if not readable_network(ctx, record):
            raise NetworkNotFound(network_id)
        return {"network": _fields(network_json(record), request)}

    @router.put("/v2.0/networks/{network_id}")
    def update_network(network_id: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        changes = parse_network_update(body)
        record = svc.get_network(caller_of(ctx), network_id)
        authorize(ctx, network_update_rules(changes), network_target(record))
        return {"network": network_json(svc.update_network(caller_of(ctx), network_id, changes))}

    @router.delete("/v2.0/networks/{network_id}", status_code=204)
    def delete_network(network_id: str, ctx: Ctx, svc: Svc) -> Response:
        record = svc.get_network(caller_of(ctx), network_id)
        authorize(ctx, ["delete_network"], network_target(record))
        svc.delete_network(caller_of(ctx), network_id)
        return Response(status_code=204)

    # -- subnets --------------------------------------------------------------------

    @router.post("/v2.0/subnets", status_code=201)
    def create_subnet(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        if (items := bulk(body, "subnet", "subnets")) is not None:
            specs = [parse_subnet_create(item) for item in items]
            for spec in specs:
                authorize_subnet_create(svc, ctx, spec)
            made = _all_or_none(
                [partial(svc.create_subnet, caller_of(ctx), spec) for spec in specs],
                undo=lambda record: svc.delete_subnet(caller_of(ctx), record.id),
            )
            return {"subnets": [subnet_json(record) for record in made]}
        spec = parse_subnet_create(body)
        authorize_subnet_create(svc, ctx, spec)
        return {"subnet": subnet_json(svc.create_subnet(caller_of(ctx), spec))}

    @router.get("/v2.0/subnets")
    def list_subnets(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        networks = {r.network.id: r for r in svc.list_networks(ADMIN)}
        bodies = [
            subnet_json(r)
            for r in svc.list_subnets(caller_of(ctx))
            if policy.allows(ctx, "get_subnet", subnet_target(r, networks[r.network_id]))
        ]
        return {"subnets": _select(bodies, request)}

    @router.get("/v2.0/subnets/{subnet_id}")
    def show_subnet(subnet_id: str, request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        record = svc.get_subnet(caller_of(ctx), subnet_id)
        target = subnet_target(record, network_of(svc, record.network_id))
        if not policy.allows(ctx, "get_subnet", target):
            raise SubnetNotFound(subnet_id)
        return {"subnet": _fields(subnet_json(record), request)}

    @router.put("/v2.0/subnets/{subnet_id}")
    def update_subnet(subnet_id: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        found = svc.get_subnet(caller_of(ctx), subnet_id)
        authorize(ctx, ["update_subnet"], subnet_target(found, network_of(svc, found.network_id)))
        record = svc.update_subnet(caller_of(ctx), subnet_id, parse_subnet_update(body))
        return {"subnet": subnet_json(record)}

    @router.delete("/v2.0/subnets/{subnet_id}", status_code=204)
    def delete_subnet(subnet_id: str, ctx: Ctx, svc: Svc) -> Response:
        record = svc.get_subnet(caller_of(ctx), subnet_id)
        authorize(ctx, ["delete_subnet"], subnet_target(record, network_of(svc, record.network_id)))
        svc.delete_subnet(caller_of(ctx), subnet_id)
        return Response(status_code=204)

    # -- ports ----------------------------------------------------------------------

    @router.post("/v2.0/ports", status_code=201)
    def create_port(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        if (items := bulk(body, "port", "ports")) is not None:
            specs = [parse_port_create(item) for item in items]
            networks = [authorize_port_create(svc, ctx, spec) for spec in specs]
            made = _all_or_none(
                [partial(svc.create_port, caller_of(ctx), spec) for spec in specs],
                undo=lambda record: svc.delete_port(caller_of(ctx), record.port.id),
            )
            return {
                "ports": [
                    shown(ctx, record, net) for record, net in zip(made, networks, strict=True)
                ]
            }
        spec = parse_port_create(body)
        network = authorize_port_create(svc, ctx, spec)
        return {"port": shown(ctx, svc.create_port(caller_of(ctx), spec), network)}

    @router.get("/v2.0/ports")
    def list_ports(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        query = {
            arg: request.query_params.getlist(key)
            for key, arg in _PORT_QUERY.items()
            if key in request.query_params
        }
        networks = {r.network.id: r for r in svc.list_networks(ADMIN)}
        bodies = []
        for record in svc.list_ports(caller_of(ctx), **query):
            network = networks[record.port.network_id]
            if policy.allows(ctx, "get_port", port_target(record, network)):
                bodies.append(shown(ctx, record, network))
        return {"ports": _select(bodies, request)}

    @router.get("/v2.0/ports/{port_id}")
    def show_port(port_id: str, request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        record = visible_port(svc, ctx, port_id)
        return {
            "port": _fields(shown(ctx, record, network_of(svc, record.port.network_id)), request)
        }

    @router.put("/v2.0/ports/{port_id}")
    def update_port(port_id: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        changes = parse_port_update(body)
        record = port_action(svc, ctx, port_id, port_rules(policy, "update_port", changes))
        updated = svc.update_port(caller_of(ctx), port_id, changes)
        return {"port": shown(ctx, updated, network_of(svc, record.port.network_id))}

    @router.delete("/v2.0/ports/{port_id}", status_code=204)
    def delete_port(port_id: str, ctx: Ctx, svc: Svc) -> Response:
        port_action(svc, ctx, port_id, ["delete_port"])
        svc.delete_port(caller_of(ctx), port_id)
        return Response(status_code=204)

    # -- security groups (the security-group extension) ---------------------------------

    @router.post("/v2.0/security-groups", status_code=201)
    def create_security_group(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        spec = parse_security_group_create(body)
        check_project_choice(ctx, spec.project_id)
        authorize(
            ctx, ["create_security_group"], security_group_target(spec.project_id or ctx.project_id)
        )
        record = svc.security_groups.create_group(caller_of(ctx), spec)
        return {"security_group": security_group_json(record)}

    @router.get("/v2.0/security-groups")
    def list_security_groups(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        params = request.query_params
        records = svc.security_groups.list_groups(
            caller_of(ctx),
            project_ids=params.getlist("project_id") or params.getlist("tenant_id"),
            ids=params.getlist("id"),
        )
        bodies = [
            security_group_json(r)
            for r in records
            if policy.allows(ctx, "get_security_group", security_group_target(r.project_id))
        ]
        return {"security_groups": _select(bodies, request)}

    def visible_group(svc: NetworkService, ctx: RequestContext, group_id: str) -> str:
        record = svc.security_groups.get_group(caller_of(ctx), group_id)
        if not policy.allows(ctx, "get_security_group", security_group_target(record.project_id)):
            raise SecurityGroupNotFound(group_id)
        return record.project_id

    @router.get("/v2.0/security-groups/{group_id}")
    def show_security_group(group_id: str, request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        record = svc.security_groups.get_group(caller_of(ctx), group_id)
        if not policy.allows(ctx, "get_security_group", security_group_target(record.project_id)):
            raise SecurityGroupNotFound(group_id)
        return {"security_group": _fields(security_group_json(record), request)}

    @router.put("/v2.0/security-groups/{group_id}")
    def update_security_group(group_id: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        changes = parse_security_group_update(body)
        project = visible_group(svc, ctx, group_id)
        authorize(ctx, ["update_security_group"], security_group_target(project))
        record = svc.security_groups.update_group(caller_of(ctx), group_id, changes)
        return {"security_group": security_group_json(record)}

    @router.delete("/v2.0/security-groups/{group_id}", status_code=204)
    def delete_security_group(group_id: str, ctx: Ctx, svc: Svc) -> Response:
        project = visible_group(svc, ctx, group_id)
        authorize(ctx, ["delete_security_group"], security_group_target(project))
        svc.security_groups.delete_group(caller_of(ctx), group_id)
        return Response(status_code=204)

    @router.post("/v2.0/security-group-rules", status_code=201)
    def create_security_group_rule(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        spec = parse_security_group_rule_create(body)
        check_project_choice(ctx, spec.project_id)
        project = visible_group(svc, ctx, spec.security_group_id)
        authorize(ctx, ["create_security_group_rule"], security_group_target(project))
        record = svc.security_groups.create_rule(caller_of(ctx), spec)
        return {"security_group_rule": security_group_rule_json(record)}

    @router.get("/v2.0/security-group-rules")
    def list_security_group_rules(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        bodies = [
            security_group_rule_json(r)
            for r in svc.security_groups.list_rules(caller_of(ctx))
            if policy.allows(ctx, "get_security_group_rule", security_group_target(r.project_id))
        ]
        return {"security_group_rules": _select(bodies, request)}

    @router.get("/v2.0/security-group-rules/{rule_id}")
    def show_security_group_rule(
        rule_id: str, request: Request, ctx: Ctx, svc: Svc
    ) -> dict[str, Any]:
        record = svc.security_groups.get_rule(caller_of(ctx), rule_id)
        target = security_group_target(record.project_id)
        if not policy.allows(ctx, "get_security_group_rule", target):
            raise SecurityGroupRuleNotFound(rule_id)
        return {"security_group_rule": _fields(security_group_rule_json(record), request)}

    @router.delete("/v2.0/security-group-rules/{rule_id}", status_code=204)
    def delete_security_group_rule(rule_id: str, ctx: Ctx, svc: Svc) -> Response:
        record = svc.security_groups.get_rule(caller_of(ctx), rule_id)
        target = security_group_target(record.project_id)
        if not policy.allows(ctx, "get_security_group_rule", target):
            raise SecurityGroupRuleNotFound(rule_id)
        authorize(ctx, ["delete_security_group_rule"], target)
        svc.security_groups.delete_rule(caller_of(ctx), rule_id)
        return Response(status_code=204)

    # -- a port's bindings on several hosts (binding-extended) ---------------------------

    @router.get("/v2.0/ports/{port_id}/bindings")
    def list_port_bindings(port_id: str, request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        port_action(svc, ctx, port_id, ["get_port_binding"])
        bodies = [binding_json(b) for b in svc.list_port_bindings(caller_of(ctx), port_id)]
        return {"bindings": _select(bodies, request)}

    @router.post("/v2.0/ports/{port_id}/bindings", status_code=201)
    def create_port_binding(port_id: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        spec = parse_binding_create(body)
        port_action(svc, ctx, port_id, ["create_port_binding"])
        binding = svc.create_port_binding(caller_of(ctx), port_id, spec)
        return {"binding": binding_json(binding)}

    @router.get("/v2.0/ports/{port_id}/bindings/{host}")
    def show_port_binding(
        port_id: str, host: str, request: Request, ctx: Ctx, svc: Svc
    ) -> dict[str, Any]:
        port_action(svc, ctx, port_id, ["get_port_binding"])
        binding = svc.get_port_binding(caller_of(ctx), port_id, host)
        return {"binding": _fields(binding_json(binding), request)}

    @router.put("/v2.0/ports/{port_id}/bindings/{host}/activate")
    def activate_port_binding(port_id: str, host: str, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        port_action(svc, ctx, port_id, ["activate"])
        # A member action answers its result bare, as Neutron's do (openstacksdk reads it so).
        return binding_json(svc.activate_port_binding(caller_of(ctx), port_id, host))

    @router.delete("/v2.0/ports/{port_id}/bindings/{host}", status_code=204)
    def delete_port_binding(port_id: str, host: str, ctx: Ctx, svc: Svc) -> Response:
        port_action(svc, ctx, port_id, ["delete_port_binding"])
        svc.delete_port_binding(caller_of(ctx), port_id, host)
        return Response(status_code=204)

    # -- offpath extensions: the simulated side ---------------------------------------

    @router.put("/offpath/sriov-hosts/{host}")
    def report_sriov_host(host: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        authorize(ctx, ["offpath:network:sriov_host:report"], {})
        physnets = _strings(body, "physnets")
        svc.report_sriov_host(check_text("host", host), physnets)
        return {"sriov_host": {"host": host, "physnets": list(physnets)}}

    @router.post("/offpath/sriov-hosts/{host}/ports/{port_id}/up", status_code=204)
    def device_up(host: str, port_id: str, ctx: Ctx, svc: Svc) -> Response:
        authorize(ctx, ["offpath:network:sriov_host:report"], {})
        svc.device_up(host, port_id)
        return Response(status_code=204)

    @router.post("/offpath/chassis", status_code=201)
    def register_chassis(body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        authorize(ctx, ["offpath:network:chassis:update"], {})
        hostname = _string(body, "hostname")
        chassis = svc.register_chassis(
            hostname,
            serial=_string(body, "serial"),
            pf_macs=_strings(body, "pf_macs"),
            vfs=_count(body, "vfs"),
            physnets=_strings(body, "physnets", required=False),
        )
        return {
            "chassis": chassis_json(
                chassis, alive=svc.chassis_alive(chassis), plugs=svc.chassis_plugs(chassis.hostname)
            )
        }

    @router.get("/offpath/chassis")
    def list_chassis(ctx: Ctx, svc: Svc) -> dict[str, Any]:
        authorize(ctx, ["offpath:network:chassis:get"], {})
        return {"chassis": [_chassis_json(svc, c) for c in svc.list_chassis()]}

    @router.get("/offpath/chassis/{hostname}")
    def show_chassis(hostname: str, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        authorize(ctx, ["offpath:network:chassis:get"], {})
        return {"chassis": _chassis_json(svc, svc.get_chassis(hostname))}

    @router.put("/offpath/chassis/{hostname}")
    def update_chassis(hostname: str, body: Doc, ctx: Ctx, svc: Svc) -> dict[str, Any]:
        authorize(ctx, ["offpath:network:chassis:update"], {})
        if not isinstance(body, dict) or not isinstance(body.get("up"), bool):
            raise NetworkRequestInvalid('Invalid input for up. Reason: give {"up": true|false}.')
        chassis = svc.set_chassis_up(hostname, up=body["up"])
        return {
            "chassis": chassis_json(
                chassis, alive=svc.chassis_alive(chassis), plugs=svc.chassis_plugs(chassis.hostname)
            )
        }

    return router


def _all_or_none(creates: Sequence[Callable[[], T]], *, undo: Callable[[T], None]) -> list[T]:
    """Make every resource of a bulk create, or none: Neutron's bulk is one transaction."""
    made: list[T] = []
    try:
        for create in creates:
            made.append(create())
    except OffpathError:
        for record in reversed(made):
            undo(record)
        raise
    return made


def _extension(alias: str, name: str, description: str) -> dict[str, JsonValue]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": "2013-01-01T00:00:00-00:00",
        "links": [],
    }


def _fields(body: dict[str, JsonValue], request: Request) -> dict[str, JsonValue]:
    wanted = request.query_params.getlist("fields")
    if not wanted:
        return body
    return {key: value for key, value in body.items() if key in wanted}


def _select(bodies: Sequence[dict[str, JsonValue]], request: Request) -> list[JsonValue]:
    filters: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in _NOT_FILTERS:
            filters.setdefault(key, []).append(value)
    kept = [body for body in bodies if _matches(body, filters)]
    return [_fields(body, request) for body in kept]


def _matches(body: Mapping[str, JsonValue], filters: Mapping[str, list[str]]) -> bool:
    for key, wanted in filters.items():
        if key not in body:
            continue
        if key == "fixed_ips":
            if not _fixed_ips_match(body[key], wanted):
                return False
            continue
        value = body[key]
        text = (
            str(value).lower() if isinstance(value, bool) else "" if value is None else str(value)
        )
        if text not in [w.lower() if isinstance(value, bool) else w for w in wanted]:
            return False
    return True


def _fixed_ips_match(fixed_ips: JsonValue, wanted: list[str]) -> bool:
    """Neutron's `fixed_ips=ip_address=A` (or subnet_id, ip_address_substr) filters.

    Values of one attribute are alternatives; different attributes must all match.
    """
    entries = [e for e in fixed_ips if isinstance(e, dict)] if isinstance(fixed_ips, list) else []
    by_attribute: dict[str, list[str]] = {}
    for item in wanted:
        attribute, _, value = item.partition("=")
        by_attribute.setdefault(attribute, []).append(value)
    for attribute, values in by_attribute.items():
        if attribute == "ip_address_substr":
            found = any(v in str(e.get("ip_address", "")) for e in entries for v in values)
        else:
            found = any(str(e.get(attribute, "")) in values for e in entries)
        if not found:
            return False
    return True


def _string(body: Any, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise NetworkRequestInvalid(
            f"Invalid input for {key}. Reason: a non-empty string is required."
        )
    return check_text(key, value)


def _strings(body: Any, key: str, *, required: bool = True) -> list[str]:
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NetworkRequestInvalid(
            f"Invalid input for {key}. Reason: a list of strings is required."
        )
    return [check_text(key, item) for item in value]


def _count(body: Any, key: str) -> int:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise NetworkRequestInvalid(
            f"Invalid input for {key}. Reason: a whole number from 0 to {MAX_COUNT} is required."
        )
    return value


def _chassis_json(svc: NetworkService, chassis: Chassis) -> dict[str, JsonValue]:
    plugs = svc.chassis_plugs(chassis.hostname)
    return chassis_json(chassis, alive=svc.chassis_alive(chassis), plugs=plugs)
