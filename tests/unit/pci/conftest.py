"""A sysfs tree laid out like the kernel's, for the PCI tests.

`sysfs_root` is the directory that plays `/sys` for one standard host:

==============  =======================================  ===========
address         what                                     netdev
==============  =======================================  ===========
0000:03:00.0    BlueField-2 PF 15b3:a2d6, 8 VFs possible  p0
                (sriov_vf_device 101e), 4 enabled:
0000:03:00.2-5  its VFs 15b3:101e, virtfn0-3             enp3s0f0v1
                                                         (on .3 only)
0000:03:00.1    BlueField-2 PF 15b3:a2d6, no VF enabled  p1
0000:81:00.0    Intel 82599 PF 8086:10fb (VFs 10ed)      ens1f0
0000:81:10.0,2  its VFs 8086:10ed, virtfn0-1
0000:00:1f.6    Intel I219 8086:15bb, no SR-IOV          eno1
0000:05:00.0    SR-IOV capable, sriov_totalvfs 0         enp5s0
0000:06:00.0    sriov_totalvfs unreadable ("garbage")    enp6s0
(none)          loopback, a virtual netdev               lo
==============  =======================================  ===========

As on Linux, `devices/` holds the real directories, `bus/pci/devices/ADDR`
and `class/net/IF` are relative symlinks into it, and `net/IF/device` is
the kernel's `../../../ADDR`. There is no `product` file (Linux has none).
"""

from __future__ import annotations

from pathlib import Path

import pytest

_BRIDGE = Path("devices", "pci0000:00", "0000:00:01.0")
_ROOT_COMPLEX = Path("devices", "pci0000:00")


def _real_dir(address: str) -> Path:
    """Where the kernel puts a function: behind a bridge unless it sits on bus 00."""
    return (_ROOT_COMPLEX if address.startswith("0000:00:") else _BRIDGE) / address


def _symlink(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _add_function(root: Path, address: str, *, vendor: str, device: str, **files: str) -> Path:
    """A PCI function: its directory, its `bus/pci/devices` link, `vendor`, `device`, more files."""
    real = root / _real_dir(address)
    real.mkdir(parents=True)
    (real / "vendor").write_text(f"0x{vendor}\n")
    (real / "device").write_text(f"0x{device}\n")
    (real / "class").write_text("0x020000\n")
    for name, text in files.items():
        (real / name).write_text(text)
    _symlink(root / "bus" / "pci" / "devices" / address, f"../../../{_real_dir(address)}")
    return real


def _add_vfs(root: Path, pf: str, vfs: list[str], *, vendor: str, device: str) -> None:
    """VFs beside their PF, linked both ways (`virtfnN` in the PF, `physfn` in each VF)."""
    pf_dir = root / _real_dir(pf)
    for number, vf in enumerate(vfs):
        vf_dir = _add_function(root, vf, vendor=vendor, device=device)
        _symlink(pf_dir / f"virtfn{number}", f"../{vf}")
        _symlink(vf_dir / "physfn", f"../{pf}")


def _add_netdev(root: Path, ifname: str, address: str, mac: str) -> None:
    """`class/net/IF` -> `devices/.../ADDR/net/IF`, whose `device` is `../../../ADDR`."""
    netdir = root / _real_dir(address) / "net" / ifname
    netdir.mkdir(parents=True)
    (netdir / "address").write_text(f"{mac}\n")
    _symlink(netdir / "device", f"../../../{address}")
    _symlink(root / "class" / "net" / ifname, f"../../{_real_dir(address)}/net/{ifname}")


def _add_loopback(root: Path) -> None:
    netdir = root / "devices" / "virtual" / "net" / "lo"
    netdir.mkdir(parents=True)
    (netdir / "address").write_text("00:00:00:00:00:00\n")
    _symlink(root / "class" / "net" / "lo", "../../devices/virtual/net/lo")


def _bluefield_pf(root: Path, address: str, *, numvfs: int) -> None:
    _add_function(
        root,
        address,
        vendor="15b3",
        device="a2d6",
        sriov_totalvfs="8\n",
        sriov_numvfs=f"{numvfs}\n",
        sriov_vf_device="101e\n",
    )


def build_standard_host(root: Path) -> Path:
    """Write the standard host of this module's docstring under `root` and return it."""
    _bluefield_pf(root, "0000:03:00.0", numvfs=4)
    _add_vfs(
        root,
        "0000:03:00.0",
        ["0000:03:00.2", "0000:03:00.3", "0000:03:00.4", "0000:03:00.5"],
        vendor="15b3",
        device="101e",
    )
    _bluefield_pf(root, "0000:03:00.1", numvfs=0)
    _add_function(
        root,
        "0000:81:00.0",
        vendor="8086",
        device="10fb",
        sriov_totalvfs="63\n",
        sriov_numvfs="2\n",
        sriov_vf_device="10ed\n",
    )
    _add_vfs(root, "0000:81:00.0", ["0000:81:10.0", "0000:81:10.2"], vendor="8086", device="10ed")
    _add_function(root, "0000:00:1f.6", vendor="8086", device="15bb")
    _add_function(root, "0000:05:00.0", vendor="8086", device="1533", sriov_totalvfs="0\n")
    _add_function(root, "0000:06:00.0", vendor="8086", device="1533", sriov_totalvfs="garbage\n")
    _add_netdev(root, "p0", "0000:03:00.0", "b8:3f:d2:00:00:10")
    _add_netdev(root, "p1", "0000:03:00.1", "b8:3f:d2:00:00:11")
    _add_netdev(root, "enp3s0f0v1", "0000:03:00.3", "52:54:00:00:03:03")
    _add_netdev(root, "ens1f0", "0000:81:00.0", "3c:fd:fe:00:81:00")
    _add_netdev(root, "eno1", "0000:00:1f.6", "54:b2:03:00:1f:06")
    _add_netdev(root, "enp5s0", "0000:05:00.0", "00:1b:21:00:05:00")
    _add_netdev(root, "enp6s0", "0000:06:00.0", "00:1b:21:00:06:00")
    _add_loopback(root)
    return root


@pytest.fixture
def sysfs_root(tmp_path: Path) -> Path:
    """A fresh standard host tree; tests may change it."""
    return build_standard_host(tmp_path / "sys")


@pytest.fixture(scope="session")
def shared_sysfs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard host tree shared by read-only tests (hypothesis runs many examples on it)."""
    return build_standard_host(tmp_path_factory.mktemp("shared") / "sys")


@pytest.fixture
def empty_sysfs_root(tmp_path: Path) -> Path:
    """A `/sys` with no PCI device at all."""
    root = tmp_path / "empty-sys"
    root.mkdir()
    return root
