"""Tempest's own virtual environment: made on first use, pinned to one Tempest release."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

TEMPEST_VERSION: Final = "47.0.0"
# Tempest pins its own oslo and client libraries: it never shares offpath's venv.
PYTHON: Final = "python3.11"
INSTALL_TIMEOUT: Final = 900


def ensure_venv(venv: Path) -> Path:
    """The venv's bin directory, after creating it and installing Tempest if needed."""
    stamp = venv / f".tempest-{TEMPEST_VERSION}"
    bin_dir = venv / "bin"
    if stamp.is_file() and (bin_dir / "tempest").is_file():
        return bin_dir
    python = shutil.which(PYTHON)
    if python is None:
        raise SystemExit(f"{PYTHON} is needed to create {venv}; install it or put it on PATH")
    print(f"creating {venv} with tempest=={TEMPEST_VERSION} (once)", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT)
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, timeout=INSTALL_TIMEOUT)
    subprocess.run([*pip, f"tempest=={TEMPEST_VERSION}"], check=True, timeout=INSTALL_TIMEOUT)
    stamp.touch()
    return bin_dir


def tempest_package(bin_dir: Path) -> Path:
    """Where the venv's `tempest` package lives (stestr's test path is inside it)."""
    found = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import tempest, os; print(os.path.dirname(tempest.__file__))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Path(found.stdout.strip())
