"""Nova's PCIWeigher (§10.4): fewer free devices weigh more, capped, times the multiplier."""

from __future__ import annotations

import pytest

from offpath.pci.weigher import pci_weight


@pytest.mark.parametrize(
    ("free", "multiplier", "weight"),
    [
        pytest.param(0, 1.0, 100.0, id="no-pci"),
        pytest.param(1, 1.0, 99.0, id="one-free"),
        pytest.param(99, 1.0, 1.0, id="ninety-nine"),
        pytest.param(500, 1.0, 1.0, id="capped"),
        pytest.param(10, 2.0, 180.0, id="multiplier"),
        pytest.param(10, 0.0, 0.0, id="disabled"),
    ],
)
def test_pci_weight(free: int, multiplier: float, weight: float) -> None:
    assert pci_weight(free, multiplier=multiplier) == weight
