"""The binding-extended JSON shapes: a binding request read, a binding written and read back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import NetworkRequestInvalid, VnicTypeInvalid
from offpath.jsonvalue import JsonValue
from offpath.network.neutron_json import (
    BindingSpec,
    binding_from_json,
    binding_json,
    parse_binding_create,
)
from offpath.ports.host_binding import BindingStatus, HostBinding
from offpath.ports.vnic import VnicType

PROFILE: dict[str, JsonValue] = {"card_serial_number": "MT2113X00002", "vf_num": 1}


@pytest.mark.parametrize(
    ("binding", "spec"),
    [
        pytest.param({"host": "c2"}, BindingSpec("c2"), id="host-only"),
        pytest.param(
            {"host": "c2", "vnic_type": "remote-managed", "profile": PROFILE},
            BindingSpec("c2", VnicType.REMOTE_MANAGED, PROFILE),
            id="as-nova-sends-it",
        ),
        pytest.param({"host": "c2", "profile": None}, BindingSpec("c2"), id="null-profile"),
        pytest.param({"host": "c2", "project_id": "p"}, BindingSpec("c2"), id="project-ignored"),
    ],
)
def test_a_binding_request_is_read(binding: dict[str, Any], spec: BindingSpec) -> None:
    assert parse_binding_create({"binding": binding}) == spec


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"host": "c2"}, "Resource body required", id="unwrapped"),
        pytest.param([], "Malformed request body", id="not-an-object"),
        pytest.param({"binding": {}}, "Required attribute 'host' not specified", id="no-host"),
        pytest.param({"binding": {"host": 3}}, "Invalid input for host", id="host-number"),
        pytest.param({"binding": {"host": "h" * 256}}, "exceeds maximum length", id="long-host"),
        pytest.param(
            {"binding": {"host": "h", "vif_type": "ovs"}},
            "Attribute 'vif_type' not allowed in POST",
            id="vif-type",
        ),
        pytest.param(
            {"binding": {"host": "h", "vnic_type": None}}, "Invalid input for vnic_type", id="null"
        ),
        pytest.param(
            {"binding": {"host": "h", "profile": "x"}}, "Invalid input for profile", id="profile"
        ),
    ],
)
def test_a_malformed_binding_request_is_refused(body: Any, message: str) -> None:
    with pytest.raises(NetworkRequestInvalid, match=message) as caught:
        parse_binding_create(body)
    assert caught.value.http_status == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
binding_keys = st.sampled_from(
    ["host", "vnic_type", "profile", "vif_type", "status", "project_id", "x"]
)
vnic_values = st.sampled_from([*VnicType, "fast", None, 1])


@given(
    st.dictionaries(binding_keys, json_values | vnic_values, max_size=5)
    | st.lists(json_values, max_size=2)
)
def test_any_body_is_read_into_a_spec_or_refused_with_neutrons_400(body: JsonValue) -> None:
    try:
        spec = parse_binding_create({"binding": body})
    except NetworkRequestInvalid as exc:
        assert exc.http_status == 400
        return
    assert isinstance(body, dict)
    assert spec.host == body["host"]
    assert spec.profile == (body.get("profile") or {})
    assert spec.vnic_type == (VnicType(str(body["vnic_type"])) if "vnic_type" in body else None)


bindings = st.builds(
    HostBinding,
    host=st.text(max_size=10),
    vnic_type=st.sampled_from(VnicType),
    profile=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    vif_type=st.sampled_from(["ovs", "unbound", "binding_failed", "hw_veb"]),
    vif_details=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    status=st.sampled_from(BindingStatus),
)


@given(bindings)
def test_a_binding_written_reads_back_the_same(binding: HostBinding) -> None:
    assert binding_from_json(binding_json(binding)) == binding


@given(st.dictionaries(binding_keys, json_values | vnic_values, max_size=6))
def test_any_binding_object_is_read_or_only_its_vnic_type_is_refused(
    body: dict[str, JsonValue],
) -> None:
    try:
        found = binding_from_json(body)
    except VnicTypeInvalid:
        assert body.get("vnic_type") not in (None, "", *VnicType)
        return
    assert isinstance(found, HostBinding)
    assert found.active is (body.get("status") == "ACTIVE")
    assert found.host == str(body.get("host") or "")
