"""The examples under examples/ keep working against a simulated host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_place_port_walks_a_remote_managed_port_to_a_noop_plug(tmp_path: Path) -> None:
    host = write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=2)
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "place_port.py"),
            str(tmp_path / "sys"),
            str(EXAMPLES / "bluefield2-nova.conf"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    profile_text = out[out.index("binding:profile = ") + len("binding:profile = ") :]
    profile = json.loads(profile_text[: profile_text.index("\n}") + 2])
    vf = next(v for v in host.vfs if str(v.address) == profile["pci_slot"])
    assert profile["card_serial_number"] == host.cards[0].serial
    assert profile["vf_num"] == vf.vf_num
    assert profile["pci_vendor_info"] == "15b3:101e"
    assert "plugin=noop" in out
    assert "spawn waits for plug events: none" in out
