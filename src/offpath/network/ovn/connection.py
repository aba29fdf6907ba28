"""Connections to OVN's Northbound and Southbound databases, through ovsdbapp.

Configured as Neutron's `[ovn]` section is: `ovn_nb_connection` /
`ovn_sb_connection` (`tcp:`, `ssl:` or `unix:`), the key, certificate and
CA files for `ssl:`, `ovsdb_connection_timeout` and `ovsdb_probe_interval`.
Only the tables offpath reads are registered: registering every Southbound
table makes the Python IDL crash when ovn-northd deletes a datapath (its
automatic index on `IP_Multicast.datapath`, a reference column). The IDL
reconnects on its own after a server restart and replays every row as new,
which the row watchers rely on to catch up.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Final

with warnings.catch_warnings():
    # python-ovs imports eventlet when it is installed (os-vif brings it), which warns
    # that it is deprecated; offpath does not use eventlet.
    warnings.simplefilter("ignore")
    from ovs.stream import Stream
    from ovsdbapp.backend.ovs_idl import connection, event, idlutils
    from ovsdbapp.exceptions import TimeoutException
    from ovsdbapp.schema.ovn_northbound.impl_idl import OvnNbApiIdlImpl
    from ovsdbapp.schema.ovn_southbound.impl_idl import OvnSbApiIdlImpl

from offpath.errors import OvnUnavailable
from offpath.network.ovn.config import OvnConfig, TlsFiles

LOG = logging.getLogger(__name__)

NB_SCHEMA: Final = "OVN_Northbound"
SB_SCHEMA: Final = "OVN_Southbound"
NB_TABLES: Final = (
    "NB_Global",
    "Logical_Switch",
    "Logical_Switch_Port",
    "Port_Group",
    "ACL",
)
SB_TABLES: Final = (
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Encap",
    "Port_Binding",
    "Datapath_Binding",
)

RowCallback = Callable[[str, Any, Any], None]
# An OVSDB condition: clauses such as ["name", "==", "x"], any of which selects a row.
Condition = Sequence[Any]


@cache
def _partial_row(table: str, columns: tuple[str, ...]) -> Any:
    return namedtuple(table, ("uuid", *columns))


def _copy(row: Any, table: str, columns: tuple[str, ...] | None) -> Any:
    if columns is None:
        return idlutils.frozen_row(row)
    # A whole copy converts every column; a lookup per bind wants two or three.
    return _partial_row(table, columns)(row.uuid, *(getattr(row, c) for c in columns))


def optional_value(value: Any) -> Any:
    """An optional OVSDB column's value (a list of zero or one), or None."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


class _Watch(event.RowEvent):  # type: ignore[misc]
    """Hands every create, update and delete of one table to a callback."""

    def __init__(self, table: str, callback: RowCallback) -> None:
        super().__init__((self.ROW_CREATE, self.ROW_UPDATE, self.ROW_DELETE), table, None)
        self.callback = callback
        self.event_name = f"offpath-watch-{table}"

    def matches(self, event: str, row: Any, old: Any = None) -> bool:
        # ovsdbapp's matches() formats both rows for a debug message on every change,
        # logged or not: most of the IDL thread's time on a busy table.
        return event in self.events and row._table.name == self.table

    def run(self, event_name: str, row: Any, old: Any) -> None:
        try:
            self.callback(event_name, row, old)
        except Exception:  # a watcher's bug must not stop the others
            LOG.exception("watching %s failed on a %s", self.table, event_name)


class _Events(event.RowEventHandler):  # type: ignore[misc]
    """ovsdbapp's event handler, copying of each changed row only what its watchers read."""

    def __init__(self) -> None:
        super().__init__()
        self._columns: dict[str, tuple[str, ...] | None] = {}

    def want(self, table: str, columns: Sequence[str] | None) -> None:
        """A watcher of `table` reads `columns` of its rows (None: every column)."""
        known = self._columns.get(table, ())
        if columns is None or known is None:
            self._columns[table] = None
        else:
            self._columns[table] = tuple(dict.fromkeys((*known, *columns)))

    def _on_matching(self, event_name: str, row: Any, updates: Any = None) -> Any:
        # Runs in the IDL's thread, holding its lock: a whole copy converts every column.
        table = row._table.name
        return _copy(row, table, self._columns.get(table))


class _Idl(connection.OvsdbIdl):  # type: ignore[misc]
    """An IDL that hands row changes to ovsdbapp's event handler (run in its own thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notify_handler = _Events()

    def notify(self, event_name: str, row: Any, updates: Any = None) -> None:
        self.notify_handler.notify(event_name, row, updates)


class OvnDatabase:
    """One connected database: its ovsdbapp API, snapshots under the IDL's lock, watchers."""

    def __init__(self, name: str, address: str, api: Any, conn: connection.Connection) -> None:
        self.name = name
        self.address = address
        self.api = api
        self._conn = conn
        self._lock: threading.RLock = conn.lock

    def rows(self, table: str, columns: Sequence[str] | None = None) -> list[Any]:
        """A consistent copy of a table's rows (taken while the IDL is not updating them).

        With `columns`, each copy holds only those (and `uuid`).
        """
        wanted = None if columns is None else tuple(columns)
        with self._lock:
            found = self._conn.idl.tables[table].rows.values()
            return [_copy(row, table, wanted) for row in found]

    def row(self, table: str, name: str, columns: Sequence[str] | None = None) -> Any | None:
        """A copy of the row of `table` named `name` (by its index column), or None."""
        wanted = None if columns is None else tuple(columns)
        with self._lock:
            try:
                return _copy(self.api.lookup(table, name), table, wanted)
            except idlutils.RowNotFound:
                return None

    def monitor(self, table: str, condition: Condition) -> None:
        """From now on replicate only the rows of `table` that `condition` selects."""
        with self._lock:
            self._conn.idl.cond_change(table, list(condition))
        # The connection thread sends the change when it next wakes: an empty
        # transaction wakes it now.
        with self.api.transaction(check_error=True):
            pass

    def watch(
        self, table: str, callback: RowCallback, columns: Sequence[str] | None = None
    ) -> None:
        """Call `callback(event, row, old)` for every change of `table`, from the event thread.

        `row` is a copy holding `columns` (and `uuid`), or every column; `old` the
        changed columns' former values.
        """
        handler = self._conn.idl.notify_handler
        handler.want(table, columns)
        handler.watch_event(_Watch(table, callback))

    @property
    def connected(self) -> bool:
        """True while the IDL has a live session with the server."""
        return bool(self._conn.idl._session.is_connected())

    def execute(self, commands: Sequence[Any]) -> None:
        """Run `commands` in one transaction; OvnUnavailable when the server does not answer."""
        if not commands:
            return
        try:
            with self.api.transaction(check_error=True) as txn:
                for command in commands:
                    txn.add(command)
        except TimeoutException as exc:
            raise OvnUnavailable(self.name, self.address, f"no answer ({exc})") from None

    def close(self) -> None:
        """Stop the connection's thread (bounded) and close the IDL's session."""
        handler = self._conn.idl.notify_handler
        if not self._conn.stop(timeout=5):
            LOG.warning("the %s connection did not stop within 5 s", self.name)
        handler.shutdown()  # ends the event thread


def _set_tls(tls: TlsFiles) -> None:
    if tls.private_key:
        Stream.ssl_set_private_key_file(tls.private_key)
    if tls.certificate:
        Stream.ssl_set_certificate_file(tls.certificate)
    if tls.ca_cert:
        Stream.ssl_set_ca_cert_file(tls.ca_cert)


def _schema_helper(name: str, address: str, schema: str, *, timeout: float) -> Any:
    """ovsdbapp's schema fetch, bounded by `timeout`: it waits for ever on a silent server."""
    fetched: list[Any] = []
    failed: list[Exception] = []

    def fetch() -> None:
        try:
            fetched.append(idlutils.get_schema_helper(address, schema))
        except Exception as exc:  # python-ovs raises bare Exceptions for a failed fetch
            failed.append(exc)

    # A thread left blocked on a server that never answers ends with the process.
    thread = threading.Thread(target=fetch, name=f"{name}-schema", daemon=True)
    thread.start()
    thread.join(timeout)
    if failed:
        raise OvnUnavailable(name, address, f"cannot read its schema: {failed[0]}")
    if not fetched:
        raise OvnUnavailable(name, address, f"no answer to a schema request within {timeout} s")
    return fetched[0]


def _open(  # noqa: PLR0917
    name: str,
    address: str,
    schema: str,
    tables: Sequence[str],
    config: OvnConfig,
    tls: TlsFiles,
    api_class: type,
    conditions: Mapping[str, Condition] | None = None,
) -> OvnDatabase:
    if address.startswith("ssl:"):
        _set_tls(tls)
    helper = _schema_helper(name, address, schema, timeout=config.timeout)
    idl = _Idl.from_server(
        address,
        schema,
        helper=helper,
        helper_tables=list(tables),
        probe_interval=config.probe_interval,
    )
    for table, condition in (conditions or {}).items():
        # Set before the first monitor request, so only these rows are ever sent.
        idl.cond_change(table, list(condition))
    conn = connection.Connection(idl, timeout=config.timeout)
    # ovsdbapp keeps an API's connection in a class attribute: a class of its own per
    # connection lets one process hold several (the driver's, each simulated DPU's).
    own_class = type(api_class.__name__, (api_class,), {"_ovsdb_connection": None})
    # Indexes (by name, by logical port) are made before the first rows arrive.
    api = own_class(conn, start=False, auto_index=True)
    try:
        conn.start()
    except Exception as exc:
        raise OvnUnavailable(name, address, f"cannot connect: {exc}") from None
    return OvnDatabase(name, address, api, conn)


def open_northbound(config: OvnConfig) -> OvnDatabase:
    """Connect to the Northbound database (switches and their ports)."""
    return _open(
        "Northbound",
        config.nb_connection,
        NB_SCHEMA,
        NB_TABLES,
        config,
        config.nb_tls,
        OvnNbApiIdlImpl,
    )


def open_southbound(
    config: OvnConfig,
    tables: Sequence[str] = SB_TABLES,
    conditions: Mapping[str, Condition] | None = None,
) -> OvnDatabase:
    """Connect to the Southbound database (chassis and port bindings), with only `tables`.

    `conditions` limit tables to the rows they select, as ovn-controller monitors.
    """
    return _open(
        "Southbound",
        config.sb_connection,
        SB_SCHEMA,
        tables,
        config,
        config.sb_tls,
        OvnSbApiIdlImpl,
        conditions,
    )
