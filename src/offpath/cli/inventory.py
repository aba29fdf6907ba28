"""`offpath inventory`: which PCI functions of this host offpath can use, and why not the others."""

from __future__ import annotations

import json
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from offpath.cli.options import AsJson, OptionalConfigFiles, SysfsRoot
from offpath.cli.output import UNBOUNDED_WIDTH, print_json, table_console
from offpath.compute.libvirt_nodedev import DEFAULT_URI, discover_libvirt
from offpath.config import load_device_specs
from offpath.errors import InputFileError, SysfsRootInvalid
from offpath.pci import regular_file
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.inventory import (
    InventoryGroup,
    InventoryRow,
    group_rows,
    inventory_as_json,
    inventory_rows,
)
from offpath.pci.sysfs import DEFAULT_SYSFS_ROOT
from offpath.sim.host import MANIFEST

# A simulator manifest is a few hundred bytes.
MANIFEST_LIMIT: Final = regular_file.MIB


class Source(StrEnum):
    """Where discovery reads the devices from."""

    SYSFS = "sysfs"
    LIBVIRT = "libvirt"


def inventory(
    *,
    sysfs_root: SysfsRoot = DEFAULT_SYSFS_ROOT,
    config_file: OptionalConfigFiles = None,
    source: Annotated[
        Source,
        typer.Option(
            "--source", metavar="sysfs|libvirt", help="Read devices from sysfs or libvirt."
        ),
    ] = Source.SYSFS,
    libvirt_uri: Annotated[
        str,
        typer.Option("--libvirt-uri", metavar="URI", help="libvirt URI for --source libvirt."),
    ] = DEFAULT_URI,
    as_json: AsJson = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show, per device, every spec tried in order and its verdict "
            '(JSON: a "tried" list per device).',
        ),
    ] = False,
) -> None:
    """List this host's network PCI functions, usable or why not.

    Per device: the spec that selects it, its tags and pool, and the reason
    when it cannot be used.
    """
    specs = load_device_specs(config_file or [], sysfs_root=sysfs_root)
    if source is Source.LIBVIRT:
        devices = discover_libvirt(libvirt_uri)
    else:
        devices = discover_sysfs(sysfs_root)
    rows = inventory_rows(devices, specs)
    host = host_name(sysfs_root)
    if as_json:
        print_json(inventory_as_json(host, rows, explain=explain))
        return
    with table_console() as console:
        print_table(console, host, rows, source=source, configured=bool(specs))
        if explain:
            print_explanations(console, rows)


def host_name(sysfs_root: Path) -> str:
    """The simulated host's name when the root is a simulator tree, else this machine's."""
    try:
        data = regular_file.read_bytes(sysfs_root / MANIFEST, limit=MANIFEST_LIMIT)
    except OSError:
        return socket.gethostname()
    except InputFileError as exc:
        # A FIFO or a device there would hang or fill the memory: the tree is damaged.
        raise SysfsRootInvalid(sysfs_root, f"{MANIFEST} {exc.problem}") from exc
    try:
        manifest = json.loads(data)
    except ValueError:
        return socket.gethostname()
    name = manifest.get("hostname") if isinstance(manifest, dict) else None
    return name if isinstance(name, str) and name else socket.gethostname()


def print_explanations(console: Console, rows: tuple[InventoryRow, ...]) -> None:
    """Per device, each spec tried in config order and why it matched or not."""
    console.print("specs tried, in order (first match wins):")
    for row in rows:
        verdicts = "; ".join(v.reason for v in row.verdicts) or "no spec tried"
        console.print(f"  {row.device.address}: {verdicts}")


def _tags_text(row: InventoryRow) -> str:
    return " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(row.tags.items()))


def _group_title(group: InventoryGroup) -> str:
    serial, pf_address = group.card_serial_number, group.pf_address
    card = f"card {serial}" if serial else "card without a serial number"
    if pf_address is None:
        return f"{card}, not under a PF"
    parts = [card, f"PF {pf_address}"]
    # The PF's own row comes first when the group has one.
    dev = group.rows[0].device
    if dev.address == pf_address:
        if dev.netdev:
            parts.append(dev.netdev)
        if dev.mac_address:
            parts.append(dev.mac_address)
        if dev.eswitch_mode:
            parts.append(f"eswitch {dev.eswitch_mode}")
    return " · ".join(parts)


_COLUMNS: Final = (
    ("address", 12),
    ("type", 8),
    ("ids", 9),
    ("numa", 4),
    ("vf", 3),
    ("netdev", 10),
    ("spec", 4),
    ("tags", 24),
    ("pool", 4),
    ("usable", 6),
    ("why not / note", 40),
)


def _group_table(title: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for name, width in _COLUMNS:
        wrap = name in ("tags", "why not / note")
        table.add_column(name, min_width=width, no_wrap=not wrap, overflow="fold")
    return table


def _cells(row: InventoryRow, pool_ref: str) -> tuple[str | Text, ...]:
    """The row's cells, in the order of _COLUMNS."""
    dev = row.device
    why = row.reason if not row.usable else (row.note or "; ".join(dev.notes))
    return (
        dev.address,
        str(dev.dev_type),
        f"{dev.vendor_id}:{dev.product_id}",
        "-" if dev.numa_node is None else str(dev.numa_node),
        "" if dev.vf_num is None else str(dev.vf_num),
        dev.netdev or "",
        "" if row.spec_index is None else f"#{row.spec_index}",
        _tags_text(row),
        pool_ref,
        Text("yes", style="green") if row.usable else Text("no", style="red"),
        why or "",
    )


def _print_records(console: Console, title: str, table: Table) -> None:
    """A table too wide for the terminal, as one block of `column value` lines per row."""
    console.print(title, style="bold")
    for index in range(table.row_count):
        record = Table.grid(padding=(0, 2))
        record.add_column(style="bold", no_wrap=True)
        record.add_column(overflow="fold")
        for column in table.columns:
            cell = list(column.cells)[index]
            if cell:
                record.add_row(str(column.header), cell)
        console.print(record)
        console.print()


def print_table(
    console: Console, host: str, rows: tuple[InventoryRow, ...], *, source: Source, configured: bool
) -> None:
    """The inventory as one table per PF (grouped by card), then its pools and a summary."""
    console.print(f"PCI inventory of {host} (from {source})", style="bold")
    pools: dict[str, int] = {}
    pool_sizes: dict[int, int] = {}
    for group in group_rows(rows):
        title = _group_title(group)
        table = _group_table(title)
        for row in group.rows:
            pool_ref = ""
            if row.pool is not None:
                key = json.dumps(row.pool, sort_keys=True)
                number = pools.setdefault(key, len(pools) + 1)
                pool_sizes[number] = pool_sizes.get(number, 0) + 1
                pool_ref = f"#{number}"
            table.add_row(*_cells(row, pool_ref))
        natural = Measurement.get(console, console.options.update_width(UNBOUNDED_WIDTH), table)
        if natural.maximum <= console.width:
            console.print(table)
        else:
            _print_records(console, title, table)
    for key, number in pools.items():
        console.print(f"pool #{number} ({pool_sizes[number]} device(s)): {key}")
    usable = sum(1 for row in rows if row.usable)
    remote = sum(1 for row in rows if row.usable and row.tags.get("remote_managed") == "true")
    console.print(
        f"{len(rows)} device(s): {usable} usable ({remote} as remote-managed), "
        f"{len(rows) - usable} not usable"
    )
    if not configured:
        console.print("note: no [pci] device_spec given (--config-file): no device is usable")
    if source is Source.SYSFS:
        console.print("note: sysfs does not show netdev offload features; --source libvirt does")
