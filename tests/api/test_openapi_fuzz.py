"""schemathesis against /openapi.json, in process: whatever it sends, no answer is a 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from offpath.sim.fleet import fleet_reports
from tests.api.world import PROJECT, TOKEN, World

HEADERS = {"X-Auth-Token": TOKEN, "X-Project-Id": PROJECT}
# Per operation: about 40 operations, a few hundred requests in all.
EXAMPLES = 8


def test_no_request_makes_the_api_fail(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=2))
    world.flavor()
    world.port()
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    results = list(schema.get_all_operations())
    # An Err is an operation schemathesis could not read: a bug in the served document.
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)
    assert len(operations) > 30
    sent = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: schemathesis.Case[Any]) -> None:
            nonlocal sent
            sent += 1
            case.call_and_validate(headers=HEADERS, checks=[not_a_server_error])

        no_server_error()
    assert sent >= 200
