"""A server's metadata rows: written whole, read for many servers at once, gone with the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.exc import IntegrityError

from offpath.conductor.server_metadata import merged
from offpath.db.cell_schema import CellBase, InstanceMetadataRow, InstanceRow
from offpath.db.engine import reading, writing
from offpath.db.instance_metadata import metadata_of, write_metadata


def _server(engine: Engine, uuid: str) -> None:
    with writing(engine) as session:
        session.add(
            InstanceRow(
                uuid=uuid,
                project_id="p",
                name=uuid,
                vm_state="active",
                task_state=None,
                flavor={},
            )
        )


@pytest.fixture
def cell(engine: Engine) -> Iterator[Engine]:
    """A cell database with two servers, s1 and s2."""
    CellBase.metadata.create_all(engine)
    _server(engine, "s1")
    _server(engine, "s2")
    yield engine


def test_a_write_then_a_read_of_many_servers(cell: Engine) -> None:
    with writing(cell) as session:
        assert write_metadata(session, "s1", {"a": "1", "b": ""}) == {}
        write_metadata(session, "s2", {"a": "2"})
    with reading(cell) as session:
        assert metadata_of(session, ["s1", "s2", "absent"]) == {
            "s1": {"a": "1", "b": ""},
            "s2": {"a": "2"},
        }
        assert metadata_of(session, []) == {}


def test_a_write_changes_only_what_differs_and_answers_what_was(cell: Engine) -> None:
    with writing(cell) as session:
        write_metadata(session, "s1", {"keep": "1", "change": "1", "drop": "1"})
    with reading(cell) as session:
        kept_id = session.scalars(
            select(InstanceMetadataRow.id).where(InstanceMetadataRow.key == "keep")
        ).one()
    with writing(cell) as session:
        before = write_metadata(session, "s1", {"keep": "1", "change": "2", "new": "3"})
    assert before == {"keep": "1", "change": "1", "drop": "1"}
    with reading(cell) as session:
        assert metadata_of(session, ["s1"]) == {"s1": {"keep": "1", "change": "2", "new": "3"}}
        # The unchanged key is the same row.
        assert (
            session.scalars(
                select(InstanceMetadataRow.id).where(InstanceMetadataRow.key == "keep")
            ).one()
            == kept_id
        )


def test_a_key_is_unique_per_server(cell: Engine) -> None:
    with writing(cell) as session:
        write_metadata(session, "s1", {"a": "1"})
    with pytest.raises(IntegrityError), writing(cell) as session:
        session.add(InstanceMetadataRow(instance_uuid="s1", key="a", value="2"))


def test_the_rows_go_with_their_server(cell: Engine) -> None:
    with writing(cell) as session:
        write_metadata(session, "s1", {"a": "1"})
        write_metadata(session, "s2", {"a": "2"})
    with writing(cell) as session:
        session.execute(delete(InstanceRow).where(InstanceRow.uuid == "s1"))
    with reading(cell) as session:
        assert session.scalar(select(func.count()).select_from(InstanceMetadataRow)) == 1
        assert metadata_of(session, ["s1", "s2"]) == {"s2": {"a": "2"}}


# -- merges, replaces and deletes against a plain dict ------------------------------------

KEYS = st.text(min_size=1, max_size=4)
ITEMS = st.dictionaries(KEYS, st.text(max_size=4), max_size=5)
OPS = st.lists(
    st.tuples(st.just("merge"), ITEMS)
    | st.tuples(st.just("replace"), ITEMS)
    | st.tuples(st.just("delete"), KEYS),
    max_size=12,
)


def _sqlite() -> Engine:
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "connect")
    def _foreign_keys(connection: object, _record: object) -> None:
        connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[attr-defined]

    CellBase.metadata.create_all(engine)
    _server(engine, "s1")
    return engine


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_any_sequence_of_changes_leaves_what_a_dict_would(
    ops: list[tuple[str, dict[str, str] | str]],
) -> None:
    engine = _sqlite()
    model: dict[str, str] = {}
    for op, arg in ops:
        with writing(engine) as session:
            current = metadata_of(session, ["s1"]).get("s1", {})
            assert current == model
            if isinstance(arg, str):
                model.pop(arg, None)
                after = {k: v for k, v in current.items() if k != arg}
            else:
                after = merged(current, arg, replace=op == "replace")
                if op == "replace":
                    model = dict(arg)
                else:
                    model.update(arg)
            write_metadata(session, "s1", after)
    with reading(engine) as session:
        assert metadata_of(session, ["s1"]).get("s1", {}) == model
    engine.dispose()


@given(ITEMS, ITEMS)
def test_a_merge_keeps_every_key_a_replace_keeps_none(
    current: dict[str, str], items: dict[str, str]
) -> None:
    assert merged(current, items, replace=True) == items
    after = merged(current, items, replace=False)
    assert set(after) == set(current) | set(items)
    assert all(after[k] == v for k, v in items.items())
    assert all(after[k] == current[k] for k in set(current) - set(items))
