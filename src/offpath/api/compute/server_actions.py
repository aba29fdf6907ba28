"""`POST /compute/v2.1/servers/{id}/action`: stop/start, reboot, suspend/resume, shelve, unshelve,
migrate, resize and its confirm/revert, live migration, evacuate, and the admin's os-resetState
and injectNetworkInfo.

The body names one action (Nova's keys); each answers 202 with no body,
evacuate 200. A state that forbids the action is Nova's 409 message, no
destination is a 400 with the reason each host was rejected, and the
work goes on in the background: the server's status shows it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.flavors import visible_flavor
from offpath.api.compute.security_groups import add_security_group, remove_security_group
from offpath.api.compute.servers import authorized_server, server_target, visible_server
from offpath.api.deps import ApiDeps, Deps
from offpath.api.microversion import Microversion
from offpath.conductor.instance_states import VmState
from offpath.conductor.moves import Moves
from offpath.conductor.server_actions import ServerActions
from offpath.errors import FlavorNotFound, RequestBodyInvalid, ServerOperationsUnavailable
from offpath.rpc.context import RequestContext

router = APIRouter(prefix="/compute/v2.1/servers", tags=["compute"])

# Nova's `block_migration` values at 2.25 and later.
_BLOCK_MIGRATION: Final = ("auto", True, False)


def _actions(deps: ApiDeps) -> ServerActions:
    if deps.actions is None:
        raise ServerOperationsUnavailable()
    return deps.actions


def _moves(deps: ApiDeps) -> Moves:
    if deps.moves is None:
        raise ServerOperationsUnavailable()
    return deps.moves


def _options(body: object, action: str) -> Mapping[str, Any]:
    """The action's argument: null and {} are no options; anything else must be an object."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise RequestBodyInvalid(f"Invalid input for field/attribute {action}: not an object")
    return body


def _host(options: Mapping[str, Any], action: str) -> str | None:
    host = options.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise RequestBodyInvalid(f"Invalid input for field/attribute host of {action}")
    return host


Handler = Callable[[ApiDeps, RequestContext, str, Mapping[str, Any], Microversion], Response]


def _accepted() -> Response:
    return Response(status_code=202)


def _stop(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _actions(deps).stop(uuid, request_id=ctx.request_id)
    return _accepted()


def _start(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _actions(deps).start(uuid, request_id=ctx.request_id)
    return _accepted()


def _reboot(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], _v: Microversion
) -> Response:
    kind = options.get("type")
    if not isinstance(kind, str) or kind.upper() not in ("HARD", "SOFT"):
        raise RequestBodyInvalid(
            "Invalid input for field/attribute type. Value: must be HARD or SOFT"
        )
    _actions(deps).reboot(uuid, hard=kind.upper() == "HARD", request_id=ctx.request_id)
    return _accepted()


def _suspend(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _actions(deps).suspend(uuid, request_id=ctx.request_id)
    return _accepted()


def _resume(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _actions(deps).resume(uuid, request_id=ctx.request_id)
    return _accepted()


def _shelve(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _actions(deps).shelve(uuid, request_id=ctx.request_id)
    return _accepted()


def _shelve_offload(
    deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion
) -> Response:
    _actions(deps).shelve_offload(uuid, request_id=ctx.request_id)
    return _accepted()


def _unshelve(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], v: Microversion
) -> Response:
    host = _host(options, "unshelve") if at_least(v, 91) else None
    _actions(deps).unshelve(uuid, host=host, request_id=ctx.request_id)
    return _accepted()


def _migrate(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], v: Microversion
) -> Response:
    host = _host(options, "migrate") if at_least(v, 56) else None
    _moves(deps).migrate(uuid, host=host, request_id=ctx.request_id)
    return _accepted()


def _resize(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], _v: Microversion
) -> Response:
    ref = options.get("flavorRef")
    if not isinstance(ref, str | int) or isinstance(ref, bool) or str(ref) == "":
        raise RequestBodyInvalid("Invalid input for field/attribute flavorRef of resize")
    flavor_id = str(ref).rstrip("/").rsplit("/", 1)[-1]
    try:
        record = visible_flavor(deps, ctx, flavor_id)
    except FlavorNotFound:
        raise RequestBodyInvalid(
            f"Unable to find flavor {flavor_id}.", hint="`openstack flavor list` shows the flavors"
        ) from None
    _moves(deps).resize(uuid, record.flavor(), flavor_id=flavor_id, request_id=ctx.request_id)
    return _accepted()


def _confirm(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _moves(deps).confirm_resize(uuid, request_id=ctx.request_id)
    return Response(status_code=204)


def _revert(deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion) -> Response:
    _moves(deps).revert_resize(uuid, request_id=ctx.request_id)
    return _accepted()


def _live_migrate(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], v: Microversion
) -> Response:
    host = _host(options, "os-migrateLive")
    block = options.get("block_migration", "auto" if at_least(v, 25) else False)
    if block not in _BLOCK_MIGRATION:
        raise RequestBodyInvalid(
            f"Invalid input for field/attribute block_migration. Value: {block!r}"
        )
    _moves(deps).live_migrate(uuid, host=host, request_id=ctx.request_id)
    return _accepted()


def _evacuate(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], v: Microversion
) -> Response:
    host = _host(options, "evacuate")
    _moves(deps).evacuate(uuid, host=host, request_id=ctx.request_id)
    if at_least(v, 14):
        return JSONResponse({}, status_code=200)
    # Before 2.14 Nova answers the new admin password (no guest reads it here).
    password = options.get("adminPass")
    given = password if isinstance(password, str) and password else secrets.token_urlsafe(9)
    return JSONResponse({"adminPass": given}, status_code=200)


def _reset_state(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], _v: Microversion
) -> Response:
    state = options.get("state")
    if state not in ("active", "error"):
        raise RequestBodyInvalid(
            f"Invalid input for field/attribute state. Value: {state!r}; it must be active or error"
        )
    _actions(deps).reset_state(uuid, state=VmState(state), request_id=ctx.request_id)
    return _accepted()


def _inject_network_info(
    deps: ApiDeps, ctx: RequestContext, uuid: str, _o: Any, _v: Microversion
) -> Response:
    # A libvirt host has nothing to inject (Nova's libvirt driver does nothing either):
    # the action is accepted, the server unchanged.
    return _accepted()


ACTIONS: Final[Mapping[str, Handler]] = {
    "os-resetState": _reset_state,
    "injectNetworkInfo": _inject_network_info,
    "os-stop": _stop,
    "os-start": _start,
    "reboot": _reboot,
    "suspend": _suspend,
    "resume": _resume,
    "shelve": _shelve,
    "shelveOffload": _shelve_offload,
    "unshelve": _unshelve,
    "migrate": _migrate,
    "resize": _resize,
    "confirmResize": _confirm,
    "revertResize": _revert,
    "os-migrateLive": _live_migrate,
    "evacuate": _evacuate,
    "addSecurityGroup": add_security_group,
    "removeSecurityGroup": remove_security_group,
}


_SERVERS: Final = "os_compute_api:servers"
# The rule of each action; a host named by the caller has a rule of its own (see below).
RULES: Final[Mapping[str, str]] = {
    "os-resetState": "os_compute_api:os-admin-actions:reset_state",
    "injectNetworkInfo": "os_compute_api:os-admin-actions:inject_network_info",
    "os-stop": f"{_SERVERS}:stop",
    "os-start": f"{_SERVERS}:start",
    "reboot": f"{_SERVERS}:reboot",
    "suspend": "os_compute_api:os-suspend-server:suspend",
    "resume": "os_compute_api:os-suspend-server:resume",
    "shelve": "os_compute_api:os-shelve:shelve",
    "shelveOffload": "os_compute_api:os-shelve:shelve_offload",
    "unshelve": "os_compute_api:os-shelve:unshelve",
    "migrate": "os_compute_api:os-migrate-server:migrate",
    "resize": f"{_SERVERS}:resize",
    "confirmResize": f"{_SERVERS}:confirm_resize",
    "revertResize": f"{_SERVERS}:revert_resize",
    "os-migrateLive": "os_compute_api:os-migrate-server:migrate_live",
    "evacuate": "os_compute_api:os-evacuate",
    "addSecurityGroup": "os_compute_api:os-security-groups:add",
    "removeSecurityGroup": "os_compute_api:os-security-groups:remove",
}
# Naming the destination: a move checks this rule instead of its own, an unshelve
# this one as well (Nova's order); from the microversion the host is read at.
_INSTEAD: Final = {
    "migrate": ("os_compute_api:os-migrate-server:migrate:host", 56),
    "os-migrateLive": ("os_compute_api:os-migrate-server:migrate_live:host", 1),
}
_AS_WELL: Final = {"unshelve": ("os_compute_api:os-shelve:unshelve_to_host", 91)}


def _rules(name: str, options: Mapping[str, Any], v: Microversion) -> list[str]:
    """The rules an action checks, given its options."""
    host_named = options.get("host") is not None
    instead = _INSTEAD.get(name)
    if instead is not None and host_named and at_least(v, instead[1]):
        return [instead[0]]
    also = _AS_WELL.get(name)
    if also is not None and host_named and at_least(v, also[1]):
        return [RULES[name], also[0]]
    return [RULES[name]]


@router.post("/{server_id}/action")
def action(
    server_id: str, body: Annotated[Any, Body()], ctx: Ctx, deps: Deps, v: Version
) -> Response:
    """Run the one action the body names."""
    if not isinstance(body, dict) or len(body) != 1:
        raise RequestBodyInvalid("The action body must be an object with exactly one key")
    ((name, options),) = body.items()
    # Nova finds the server first: an action on a missing one is a 404 whatever it is.
    visible_server(deps, ctx, server_id)
    handler = ACTIONS.get(name)
    if handler is None:
        raise RequestBodyInvalid(f"There is no such action: {name}")
    given = _options(options, name)
    first, *more = _rules(name, given, v)
    server = authorized_server(deps, ctx, server_id, first)
    for rule in more:
        deps.policy.authorize(ctx, rule, server_target(server))
    return handler(deps, ctx, server.uuid, given, v)
