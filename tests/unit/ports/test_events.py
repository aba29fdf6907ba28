"""Which plug events each operation waits for, and D6's backend confirmations (spec §8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.ports.events import (
    HARD_REBOOT_WAIT_CHOICES,
    NOTHING,
    VIF_PLUGGED,
    EventSettings,
    ExpectedEvent,
    Operation,
    WaitPlan,
    plug_event_at_bind_time,
    wait_plan,
)
from offpath.ports.vif import Vif, VifNetwork
from offpath.ports.vnic import VnicType

V = VnicType
OP = Operation
DEFAULTS = EventSettings()


def vif(port_id: str, vnic: VnicType = V.NORMAL, active: bool | None = False) -> Vif:
    return Vif(
        port_id, "fa:16:3e:00:00:01", VifNetwork("net"), "ovs", vnic_type=vnic, active=active
    )


NORMAL_DOWN = vif("p-normal")
DIRECT_DOWN = vif("p-direct", V.DIRECT)
RM_DOWN = vif("p-rm", V.REMOTE_MANAGED)
NORMAL_UP = vif("p-up", active=True)
NORMAL_UNKNOWN = vif("p-unknown", active=None)
RM_UP = vif("p-rm-up", V.REMOTE_MANAGED, active=True)


def plugged(*port_ids: str) -> tuple[ExpectedEvent, ...]:
    return tuple(ExpectedEvent(VIF_PLUGGED, port_id) for port_id in port_ids)


# --- spawn (and revert, which uses the same list) --------------------------------------


@pytest.mark.parametrize("operation", [OP.SPAWN, OP.FINISH_REVERT], ids=str)
def test_it_waits_for_each_vif_known_to_be_down(operation: Operation) -> None:
    plan = wait_plan(
        operation, [NORMAL_DOWN, DIRECT_DOWN, NORMAL_UP], DEFAULTS, backend_confirms=False
    )
    assert plan.events == plugged("p-normal", "p-direct")


def test_spawn_does_not_wait_for_a_vif_in_an_unknown_state() -> None:
    assert wait_plan(OP.SPAWN, [NORMAL_UNKNOWN], DEFAULTS, backend_confirms=False) is NOTHING


def test_spawn_never_waits_for_a_remote_managed_plug_event() -> None:
    plan = wait_plan(OP.SPAWN, [RM_DOWN], DEFAULTS, backend_confirms=False)
    assert plan == NOTHING


def test_d6_spawn_asks_a_backend_that_can_confirm_the_remote_managed_plug() -> None:
    plan = wait_plan(OP.SPAWN, [RM_DOWN, NORMAL_DOWN], DEFAULTS, backend_confirms=True)
    assert (plan.events, plan.confirm_via_backend) == (plugged("p-normal"), ("p-rm",))


def test_d6_spawn_does_not_ask_about_a_remote_managed_vif_already_up() -> None:
    assert wait_plan(OP.SPAWN, [RM_UP], DEFAULTS, backend_confirms=True) is NOTHING


def test_d6_confirmations_take_the_event_timeout_and_fatality() -> None:
    settings = EventSettings(vif_plugging_timeout=42, vif_plugging_is_fatal=False)
    plan = wait_plan(OP.SPAWN, [RM_DOWN], settings, backend_confirms=True)
    assert plan == WaitPlan((), ("p-rm",), timeout=42, fatal=False)


def test_events_take_the_configured_timeout_and_fatality() -> None:
    plan = wait_plan(OP.SPAWN, [NORMAL_DOWN], DEFAULTS, backend_confirms=False)
    assert (plan.timeout, plan.fatal) == (300, True)


@pytest.mark.parametrize(
    ("settings", "power_on"),
    [
        pytest.param(EventSettings(vif_plugging_timeout=0), True, id="timeout-0"),
        pytest.param(EventSettings(virt_type="lxc"), True, id="lxc"),
        pytest.param(EventSettings(virt_type="parallels"), True, id="parallels"),
        pytest.param(DEFAULTS, False, id="not-powered-on"),
    ],
)
def test_spawn_waits_for_nothing_when_it_cannot_or_need_not(
    settings: EventSettings, power_on: bool
) -> None:
    plan = wait_plan(
        OP.SPAWN, [NORMAL_DOWN, RM_DOWN], settings, backend_confirms=True, power_on=power_on
    )
    assert plan is NOTHING


def test_qemu_waits_like_kvm() -> None:
    plan = wait_plan(
        OP.SPAWN, [NORMAL_DOWN], EventSettings(virt_type="qemu"), backend_confirms=False
    )
    assert plan.events == plugged("p-normal")


# --- operations that never wait --------------------------------------------------------


@pytest.mark.parametrize(
    "operation", [OP.FINISH_MIGRATION, OP.RESUME, OP.ATTACH_INTERFACE], ids=str
)
def test_operations_with_vifs_already_plugged_wait_for_nothing(operation: Operation) -> None:
    plan = wait_plan(operation, [NORMAL_DOWN, RM_DOWN], DEFAULTS, backend_confirms=True)
    assert plan is NOTHING


# --- hard reboot -------------------------------------------------------------------------


def test_hard_reboot_waits_for_nothing_by_default() -> None:
    plan = wait_plan(OP.HARD_REBOOT, [NORMAL_DOWN, RM_DOWN], DEFAULTS, backend_confirms=True)
    assert plan is NOTHING


def test_the_workaround_waits_for_every_vif_of_a_listed_vnic_type_whatever_its_state() -> None:
    settings = EventSettings(hard_reboot_wait_vnic_types=frozenset({"normal"}))
    plan = wait_plan(
        OP.HARD_REBOOT,
        [NORMAL_DOWN, NORMAL_UP, NORMAL_UNKNOWN, DIRECT_DOWN],
        settings,
        backend_confirms=False,
    )
    assert plan.events == plugged("p-normal", "p-up", "p-unknown")


def test_d6_a_workaround_listing_remote_managed_asks_the_backend_not_for_an_event() -> None:
    # §14.8: Nova would wait for an event the backend sent at bind time.
    settings = EventSettings(hard_reboot_wait_vnic_types=frozenset({"remote-managed"}))
    plan = wait_plan(OP.HARD_REBOOT, [RM_UP, NORMAL_DOWN], settings, backend_confirms=True)
    assert (plan.events, plan.confirm_via_backend) == ((), ("p-rm-up",))


def test_d6_a_workaround_listing_remote_managed_waits_for_nothing_without_confirmation() -> None:
    settings = EventSettings(hard_reboot_wait_vnic_types=frozenset({"remote-managed"}))
    assert wait_plan(OP.HARD_REBOOT, [RM_UP], settings, backend_confirms=False) is NOTHING


def test_smart_nic_in_the_workaround_matches_no_port() -> None:
    settings = EventSettings(hard_reboot_wait_vnic_types=frozenset({"smart-nic"}))
    vifs = [vif(f"p-{v.value}", v) for v in VnicType]
    assert wait_plan(OP.HARD_REBOOT, vifs, settings, backend_confirms=True) is NOTHING


def test_the_workaround_accepts_every_vnic_type_and_smart_nic() -> None:
    assert {*(v.value for v in VnicType), "smart-nic"} == HARD_REBOOT_WAIT_CHOICES


# --- live migration ----------------------------------------------------------------------


def test_live_migration_waits_for_every_vif_whatever_its_state() -> None:
    plan = wait_plan(
        OP.LIVE_MIGRATION,
        [NORMAL_DOWN, NORMAL_UP, NORMAL_UNKNOWN],
        EventSettings(virt_type="lxc"),
        backend_confirms=False,
    )
    assert plan.events == plugged("p-normal", "p-up", "p-unknown")


def test_d6_live_migration_asks_the_backend_about_remote_managed_vifs() -> None:
    # §14.7: Nova waits for a plug event here although spawn does not.
    plan = wait_plan(OP.LIVE_MIGRATION, [RM_UP, NORMAL_UP], DEFAULTS, backend_confirms=True)
    assert (plan.events, plan.confirm_via_backend) == (plugged("p-up"), ("p-rm-up",))


def test_d6_live_migration_never_waits_for_a_remote_managed_plug_event() -> None:
    assert wait_plan(OP.LIVE_MIGRATION, [RM_UP], DEFAULTS, backend_confirms=False) is NOTHING


def test_live_migration_waits_for_nothing_when_the_destination_says_so() -> None:
    plan = wait_plan(
        OP.LIVE_MIGRATION,
        [NORMAL_UP, RM_UP],
        DEFAULTS,
        backend_confirms=True,
        destination_waits=False,
    )
    assert plan is NOTHING


def test_live_migration_waits_for_nothing_without_a_timeout() -> None:
    settings = EventSettings(vif_plugging_timeout=0)
    assert wait_plan(OP.LIVE_MIGRATION, [NORMAL_UP], settings, backend_confirms=True) is NOTHING


# --- the one rule (D6) --------------------------------------------------------------------


@pytest.mark.parametrize("vnic", list(VnicType), ids=str)
def test_d6_only_remote_managed_backends_plug_at_bind_time(vnic: VnicType) -> None:
    assert plug_event_at_bind_time(vnic) is (vnic is V.REMOTE_MANAGED)


def test_a_plan_with_only_confirmations_still_waits() -> None:
    assert WaitPlan(confirm_via_backend=("p",)).waits
    assert not NOTHING.waits


vifs_strategy = st.lists(
    st.builds(
        vif,
        st.uuids().map(str),
        st.sampled_from(list(VnicType)),
        st.none() | st.booleans(),
    ),
    max_size=6,
)


@given(
    operation=st.sampled_from(list(Operation)),
    vifs=vifs_strategy,
    confirms=st.booleans(),
    listed=st.frozensets(st.sampled_from(sorted(HARD_REBOOT_WAIT_CHOICES))),
)
def test_d6_no_operation_ever_waits_for_a_remote_managed_plug_event(
    operation: Operation, vifs: list[Vif], confirms: bool, listed: frozenset[str]
) -> None:
    settings = EventSettings(hard_reboot_wait_vnic_types=listed)
    plan = wait_plan(operation, vifs, settings, backend_confirms=confirms)
    remote = {v.id for v in vifs if v.vnic_type is V.REMOTE_MANAGED}
    assert not remote & {event.tag for event in plan.events}
    assert set(plan.confirm_via_backend) <= (remote if confirms else set())
