"""How commands print: JSON documents as they are, tables to the terminal's width or to a pipe.

A terminal gets rich tables laid out to its width (rich reads it, and
COLUMNS when set). A pipe gets every line as long as its content: no
wrapping, no splitting, no padding to a fixed width, so `grep` and `cut`
see one row per line. JSON never goes through rich: its lines are the
document's, whatever the width.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from rich.console import Console

from offpath.jsonvalue import JsonValue

# rich lays out to a width; on a pipe, one no line of ours comes near.
UNBOUNDED_WIDTH: Final = 1_000_000


def print_json(document: JsonValue) -> None:
    """Write `document` to stdout as indented JSON and a newline."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


@contextmanager
def table_console() -> Iterator[Console]:
    """A rich Console for human output, written to stdout when the block ends."""
    if Console().is_terminal:
        yield Console(highlight=False, markup=False)
        return
    buffer = io.StringIO()
    yield Console(
        file=buffer, width=UNBOUNDED_WIDTH, highlight=False, markup=False, color_system=None
    )
    # rich pads titles and cells to the table's width; a pipe wants the text only.
    sys.stdout.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
    sys.stdout.flush()
