"""`offpath vpd`: read binary PCI VPD files (a card's `/sys/bus/pci/devices/ADDR/vpd`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from offpath.cli.output import print_json
from offpath.jsonvalue import JsonValue
from offpath.pci.vpd import VpdRecord, read_vpd_file

app = typer.Typer(
    help="Read PCI VPD: card name, part number, serial number.",
    no_args_is_help=True,
)


@app.command("decode")
def decode(
    vpd_file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="Binary VPD, e.g. /sys/bus/pci/devices/0000:03:00.0/vpd.",
            # offpath's own check says what is wrong, with a hint and exit code 2.
            readable=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with every field.")
    ] = False,
    salvage: Annotated[
        bool,
        typer.Option(
            "--salvage",
            help="Tolerate damage that leaves the serial number trustworthy, as discovery "
            "does; the damage is listed.",
        ),
    ] = False,
) -> None:
    """Decode a VPD file and print its fields. Exit 2 if it is malformed or unreadable."""
    record = read_vpd_file(vpd_file, strict=not salvage)
    if as_json:
        print_json(record.as_json())
    else:
        for line in vpd_lines(record):
            typer.echo(line)


def vpd_lines(record: VpdRecord) -> Iterator[str]:
    """One `key: value` line per set field; `ro_vendor_fields.A: ...` for each mapped one."""
    for key, value in record.as_json().items():
        if isinstance(value, dict):
            for index, text in value.items():
                yield f"{key}.{index}: {_shown(text)}"
        elif isinstance(value, list):
            for text in value:
                yield f"{key}: {_shown(text)}"
        elif value is not None:
            yield f"{key}: {_shown(value)}"


def _shown(value: JsonValue) -> str:
    # An empty field is present, not absent: show it as "" rather than nothing.
    return '""' if value == "" else str(value)
