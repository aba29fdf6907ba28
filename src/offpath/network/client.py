"""A client of Neutron's HTTP API: how compute and conductor reach ports, here or in a real cloud.

Only Neutron's API (`/v2.0`) is used for ports and networks, so the same
client works against a real Neutron; `report_sriov_host` and `device_up`
are the two offpath extensions a host's simulated SR-IOV NIC agent uses.
HTTP errors become offpath errors: 404 the not-found error of what was
asked, 400 NetworkRequestInvalid and 409 NetworkRequestConflict with
Neutron's message, anything else (unreachable, 401, 5xx)
NetworkServiceUnavailable.

A port's bindings on several hosts (`binding-extended`, live migration)
answer as Nova reads them: a binding Neutron refuses to create (400, 409,
or its 500 PortBindingError) is PortBindingFailed; activating one already
active (409) is no error, other refusals PortBindingActivationFailed;
deleting one already gone (404) is no error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

import httpx

from offpath.errors import (
    NetworkNotFound,
    NetworkRequestConflict,
    NetworkRequestInvalid,
    NetworkServiceUnavailable,
    OffpathError,
    PortBindingActivationFailed,
    PortBindingFailed,
    PortBindingNotFound,
    PortNotFound,
    SecurityGroupNameAmbiguous,
)
from offpath.jsonvalue import JsonValue
from offpath.network.neutron_json import binding_from_json, network_from_json, port_from_json
from offpath.ports.host_binding import HostBinding
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.service_token import TokenAuth, TokenSource, token_source

LOG = logging.getLogger(__name__)

NotFoundError = Callable[[], OffpathError]
# How Neutron refuses a binding: bad input, a conflict, or PortBindingError (a 500).
BINDING_REFUSALS: Final = frozenset({400, 409, 500})


class NeutronClient:
    """Ports and networks through Neutron's HTTP API (an implementation of `PortDirectory`)."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | TokenSource,
        project_id: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = endpoint.rstrip("/")
        # The unversioned endpoint, as in a service catalog; a /v2.0 one is accepted too.
        self.endpoint = base.removesuffix("/v2.0")
        headers = {"Accept": "application/json"}
        if project_id:
            headers["X-Project-Id"] = project_id
        self._client = httpx.Client(
            base_url=self.endpoint,
            headers=headers,
            auth=TokenAuth(token_source(token)),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def show_port(self, port_id: str) -> Port:
        """The port; PortNotFound when there is none (or it is another project's)."""
        body = self._call("GET", f"/v2.0/ports/{_segment(port_id)}", lambda: PortNotFound(port_id))
        return port_from_json(_object(body, "port", self.endpoint))

    def show_network(self, network_id: str) -> Network:
        """The network; NetworkNotFound when there is none."""
        body = self._call(
            "GET", f"/v2.0/networks/{_segment(network_id)}", lambda: NetworkNotFound(network_id)
        )
        return network_from_json(_object(body, "network", self.endpoint))

    def list_ports(self, *, device_id: str | None = None, host: str | None = None) -> list[Port]:
        """Ports, filtered by the server using them and the host they are bound to."""
        params: dict[str, str] = {}
        if device_id is not None:
            params["device_id"] = device_id
        if host is not None:
            params["binding:host_id"] = host
        body = self._call("GET", "/v2.0/ports", None, params=params)
        ports = body.get("ports") if isinstance(body, dict) else None
        if not isinstance(ports, list):
            raise NetworkServiceUnavailable(self.endpoint, "the port list has no 'ports' list")
        return [port_from_json(item) for item in ports if isinstance(item, dict)]

    def find_security_group(self, name_or_id: str, *, project_id: str) -> str | None:
        """The id of the project's group with that id, else that name; None when it has none."""
        for key in ("id", "name"):
            found = self._security_groups({"project_id": project_id, key: name_or_id})
            if len(found) > 1:
                raise SecurityGroupNameAmbiguous(name_or_id)
            if found:
                return str(found[0].get("id", ""))
        return None

    def security_group_names(self, group_ids: Sequence[str]) -> dict[str, str]:
        """The names of the groups of `group_ids`, in one request (a page of servers)."""
        if not group_ids:
            return {}
        params = [("id", group_id) for group_id in dict.fromkeys(group_ids)]
        params += [("fields", "id"), ("fields", "name")]
        return {
            str(item.get("id", "")): str(item.get("name") or "")
            for item in self._security_groups(params)
        }

    def set_port_security_groups(self, port_id: str, group_ids: Sequence[str]) -> Port:
        """Make `group_ids` the port's security groups."""
        return self._update(port_id, {"security_groups": list(group_ids)})

    def _security_groups(
        self, params: Mapping[str, str] | list[tuple[str, str]]
    ) -> list[dict[str, JsonValue]]:
        query = httpx.QueryParams(params if isinstance(params, Mapping) else list(params))
        body = self._call("GET", "/v2.0/security-groups", None, params=query)
        groups = body.get("security_groups") if isinstance(body, dict) else None
        if not isinstance(groups, list):
            raise NetworkServiceUnavailable(self.endpoint, "the answer has no 'security_groups'")
        return [item for item in groups if isinstance(item, dict)]

    def bind_port(
        self,
        port_id: str,
        *,
        host: str,
        profile: Mapping[str, JsonValue],
        device_id: str,
        device_owner: str,
    ) -> Port:
        """Bind the port to `host` for `device_id`; `profile` replaces the old one whole."""
        return self._update(
            port_id,
            {
                "binding:host_id": host,
                "binding:profile": dict(profile),
                "device_id": device_id,
                "device_owner": device_owner,
            },
        )

    def unbind_port(
        self, port_id: str, *, profile: Mapping[str, JsonValue], detach: bool = True
    ) -> Port:
        """Clear the port's host and write `profile` (Nova's unbind); `detach` frees its device."""
        changes: dict[str, JsonValue] = {"binding:host_id": None, "binding:profile": dict(profile)}
        if detach:
            changes.update(device_id="", device_owner="")
        return self._update(port_id, changes)

    def report_sriov_host(self, host: str, physnets: Sequence[str]) -> None:
        """Offpath extension: a host's SR-IOV NIC agent reports the physnets its VFs reach."""
        self._call(
            "PUT",
            f"/offpath/sriov-hosts/{_segment(host)}",
            None,
            json={"physnets": list(physnets)},
        )

    def device_up(self, host: str, port_id: str) -> None:
        """Offpath extension: the VF of a port bound to `host` is up (its SR-IOV NIC agent says)."""
        self._call(
            "POST",
            f"/offpath/sriov-hosts/{_segment(host)}/ports/{_segment(port_id)}/up",
            lambda: PortNotFound(port_id),
        )

    def create_port_binding(
        self,
        port_id: str,
        *,
        host: str,
        vnic_type: VnicType | None = None,
        profile: Mapping[str, JsonValue],
    ) -> HostBinding:
        """An inactive binding of the port to `host`; PortBindingFailed when it is refused."""
        binding: dict[str, JsonValue] = {"host": host, "profile": dict(profile)}
        if vnic_type is not None:
            binding["vnic_type"] = vnic_type.value
        path = f"/v2.0/ports/{_segment(port_id)}/bindings"
        response = self._send("POST", path, json={"binding": binding})
        if response.status_code in BINDING_REFUSALS:
            raise PortBindingFailed(port_id, _neutron_message(response))
        body = self._answer("POST", path, response, lambda: PortNotFound(port_id))
        return binding_from_json(_object(body, "binding", self.endpoint))

    def port_bindings(self, port_id: str) -> list[HostBinding]:
        """The port's bindings, the active one first; PortNotFound when there is no port."""
        body = self._call(
            "GET", f"/v2.0/ports/{_segment(port_id)}/bindings", lambda: PortNotFound(port_id)
        )
        items = body.get("bindings") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise NetworkServiceUnavailable(self.endpoint, "the answer has no 'bindings' list")
        return [binding_from_json(item) for item in items if isinstance(item, dict)]

    def activate_port_binding(self, port_id: str, host: str) -> Port:
        """Make the port's binding to `host` its active one; the port as it is then."""
        path = f"/v2.0/ports/{_segment(port_id)}/bindings/{_segment(host)}/activate"
        response = self._send("PUT", path)
        status = response.status_code
        if status == 409:
            # As Nova: the caller asked for what is already there.
            LOG.warning("Binding for port %s and host %s is already active.", port_id, host)
        elif status in BINDING_REFUSALS:
            raise PortBindingActivationFailed(port_id, host, _neutron_message(response))
        else:
            self._answer("PUT", path, response, lambda: PortBindingNotFound(port_id, host))
        return self.show_port(port_id)

    def delete_port_binding(self, port_id: str, host: str) -> None:
        """Delete the port's binding to `host`; one already gone is no error (Nova's rollback)."""
        path = f"/v2.0/ports/{_segment(port_id)}/bindings/{_segment(host)}"
        response = self._send("DELETE", path)
        if response.status_code != 404:
            self._answer("DELETE", path, response, None)

    def _update(self, port_id: str, changes: dict[str, JsonValue]) -> Port:
        body = self._call(
            "PUT",
            f"/v2.0/ports/{_segment(port_id)}",
            lambda: PortNotFound(port_id),
            json={"port": changes},
        )
        return port_from_json(_object(body, "port", self.endpoint))

    def _call(
        self,
        method: str,
        path: str,
        not_found: NotFoundError | None,
        *,
        params: Mapping[str, str] | httpx.QueryParams | None = None,
        json: Any = None,
    ) -> JsonValue:
        response = self._send(method, path, params=params, json=json)
        return self._answer(method, path, response, not_found)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | httpx.QueryParams | None = None,
        json: Any = None,
    ) -> httpx.Response:
        try:
            return self._client.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise NetworkServiceUnavailable(
                self.endpoint, f"{method} {path}: {type(exc).__name__}: {exc}"
            ) from None

    def _answer(
        self, method: str, path: str, response: httpx.Response, not_found: NotFoundError | None
    ) -> JsonValue:
        """The body of a 2xx answer; the error an HTTP error means, else."""
        status = response.status_code
        if status < 300:
            return _json(response) if response.content else None
        message = _neutron_message(response)
        if status == 404 and not_found is not None:
            raise not_found()
        if status == 400:
            raise NetworkRequestInvalid(message)
        if status == 409:
            raise NetworkRequestConflict(message)
        raise NetworkServiceUnavailable(self.endpoint, f"{method} {path}: HTTP {status}: {message}")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _json(response: httpx.Response) -> JsonValue:
    try:
        decoded: JsonValue = response.json()
    except ValueError:
        return None
    return decoded


def _neutron_message(response: httpx.Response) -> str:
    body = _json(response)
    if isinstance(body, dict):
        error = body.get("NeutronError")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return response.text[:300] or response.reason_phrase


def _object(body: JsonValue, key: str, endpoint: str) -> dict[str, JsonValue]:
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise NetworkServiceUnavailable(endpoint, f"the answer has no {key!r} object")
    return inner
