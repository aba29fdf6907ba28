"""Golden files: JSON contracts compared byte for byte with what offpath prints.

Each `*.json` here is the exact output a client (a script, the future HTTP
API's users) may rely on. A change that alters one fails its test; if the
change is meant, rewrite the files and review the diff like any contract
change::

    OFFPATH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit -k golden

With OFFPATH_UPDATE_GOLDEN=1 a golden test writes what it got and passes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

GOLDEN_DIR: Final = Path(__file__).parent
UPDATE_VARIABLE: Final = "OFFPATH_UPDATE_GOLDEN"


def assert_matches_golden(name: str, text: str) -> None:
    """`text` equals the golden file `name` exactly (rewrites it under OFFPATH_UPDATE_GOLDEN=1)."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_VARIABLE) == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}; run with {UPDATE_VARIABLE}=1 to write it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the contract change is meant, "
        f"rerun with {UPDATE_VARIABLE}=1 and review the diff"
    )
