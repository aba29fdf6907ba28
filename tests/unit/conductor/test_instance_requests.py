"""An instance's PCI request as a migration record keeps it: read back equal."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from offpath.conductor.instance_requests import request_of, request_primitive
from offpath.pci.request import NumaPolicy, PciRequest

SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
SPECS = st.dictionaries(st.text(max_size=8), SCALARS, max_size=4)
REQUESTS = st.builds(
    PciRequest,
    count=st.integers(min_value=1, max_value=8),
    spec=st.lists(SPECS, max_size=3).map(tuple),
    request_id=st.uuids().map(str),
    requester_id=st.none() | st.uuids().map(str),
    alias_name=st.none() | st.text(min_size=1, max_size=8),
    numa_policy=st.none() | st.sampled_from(NumaPolicy),
)


@given(REQUESTS)
def test_a_request_reads_back_equal_through_json(request: PciRequest) -> None:
    stored = json.loads(json.dumps(request_primitive(request)))
    assert request_of(stored) == request


def test_a_port_request_and_an_alias_request() -> None:
    port = PciRequest(1, ({"remote_managed": "True"},), "r1", requester_id="p1")
    alias = PciRequest(
        2, ({"vendor_id": "10de"},), "r2", alias_name="gpu", numa_policy=NumaPolicy.PREFERRED
    )
    assert request_primitive(port) == {
        "request_id": "r1",
        "count": 1,
        "spec": [{"remote_managed": "True"}],
        "requester_id": "p1",
        "alias_name": None,
        "numa_policy": None,
    }
    assert request_primitive(alias)["numa_policy"] == "preferred"
    assert request_of(request_primitive(alias)) == alias


def test_missing_fields_take_defaults() -> None:
    found = request_of({"request_id": "r1", "spec": "not a list", "count": "2"})
    assert found == PciRequest(1, (), "r1")
