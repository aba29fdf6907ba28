"""A simulated card model: PCI ids, SR-IOV layout, netdev naming and VPD, loaded from YAML.

Built-in profiles live in `offpath/sim/profiles/*.yaml`; a user adds a card by
writing one more YAML file of the same shape and passing its path.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Final, NoReturn, TypeVar

import yaml

from offpath.errors import (
    InputFileError,
    SimProfileInvalid,
    SimProfileNotFound,
    VpdFieldUnencodable,
)
from offpath.pci import regular_file
from offpath.sim.vpd_image import encode_vpd

# Placeholders a template of the profile may use, and what they stand for.
IFNAME_FIELDS: Final = ("slot", "card", "pf", "vf")
VPD_FIELDS: Final = ("serial", "uuid", "card", "pf")
# Built-in profiles are about 1 KiB; a profile file larger than this is no profile.
PROFILE_LIMIT: Final = regular_file.MIB
# IFNAMSIZ is 16 with the terminating NUL.
MAX_IFNAME: Final = 15
# An SR-IOV capability counts VFs in 16 bits; more than the routing-id space is useless.
MAX_TOTALVFS: Final = 0xFFFF

_HEX4: Final = re.compile(r"[0-9a-f]{4}")
_KEYWORD: Final = re.compile(r"[A-Z0-9]{2}")
_OUI: Final = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){2}")
_DRIVER: Final = re.compile(r"[A-Za-z0-9_.-]+")
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")

T = TypeVar("T")


class CardRole(StrEnum):
    """Who manages the card's VFs: the host (a NIC) or the card's own Arm cores (a DPU)."""

    NIC = "nic"
    DPU = "dpu"


class EswitchMode(StrEnum):
    """What mlx5's `compat/devlink/mode` file reads (where the profile exposes it)."""

    SWITCHDEV = "switchdev"
    LEGACY = "legacy"


@dataclass(frozen=True, slots=True)
class FunctionIds:
    """The identity of a PF or VF: ids as 4 lowercase hex digits, class, bound driver."""

    vendor_id: str
    device_id: str
    subsystem_vendor_id: str
    subsystem_device_id: str
    device_class: int
    driver: str


@dataclass(frozen=True, slots=True)
class NetdevNaming:
    """How the netdevs of a card are named and what they expose."""

    pf_ifname: str
    vf_ifname: str
    pf_phys_port_name: str | None
    vf_phys_port_name: str | None
    phys_switch_id: bool
    eswitch_mode: EswitchMode | None
    pf_mac_oui: str


@dataclass(frozen=True, slots=True)
class VpdTemplate:
    """The VPD a card carries; values may hold {serial}, {uuid}, {card}, {pf}."""

    card_name: str
    serial_prefix: str | None
    read_only: tuple[tuple[str, str], ...]
    read_write: tuple[tuple[str, str], ...]
    rw_size: int
    on_vfs: bool


@dataclass(frozen=True, slots=True)
class HostProfile:
    """Everything the simulator needs to lay out the cards of one host."""

    name: str
    description: str
    source: str
    role: CardRole
    pf: FunctionIds
    vf: FunctionIds
    cards: int
    pfs_per_card: int
    sriov_totalvfs: int
    default_vfs: int
    # Routing ids between PF 0 and its first VF; None: right after the last PF.
    first_vf_offset: int | None
    netdev: NetdevNaming
    vpd: VpdTemplate


def builtin_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped with offpath, sorted."""
    folder = resources.files("offpath.sim") / "profiles"
    return tuple(
        sorted(
            entry.name.removesuffix(".yaml")
            for entry in folder.iterdir()
            if entry.name.endswith(".yaml")
        )
    )


def load_profile(name_or_path: str | Path) -> HostProfile:
    """A built-in profile by name, or a profile YAML file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in builtin_profiles():
        resource = resources.files("offpath.sim") / "profiles" / f"{text}.yaml"
        return parse_profile(resource.read_text(encoding="utf-8"), source=f"built-in {text}")
    path = Path(name_or_path)
    if not path.exists():
        raise SimProfileNotFound(text, builtins=builtin_profiles())
    try:
        content = regular_file.read_text(path, limit=PROFILE_LIMIT, encoding="utf-8")
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise SimProfileInvalid(str(path), "", f"cannot read the file: {why}") from exc
    except InputFileError as exc:
        raise SimProfileInvalid(exc.path, "", f"cannot read the file: {exc.problem}") from exc
    return parse_profile(content, source=str(path))


def parse_profile(text: str, *, source: str) -> HostProfile:
    """Parse and validate the YAML text of a profile; `source` names it in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SimProfileInvalid(source, "", f"not valid YAML: {exc}") from exc
    root = _Section(source, "", document)
    pfs_per_card = root.integer("pfs_per_card", low=1, high=64)
    sriov = root.section("sriov")
    totalvfs = sriov.integer("totalvfs", low=1, high=MAX_TOTALVFS)
    first_vf_offset = sriov.optional("first_vf_offset", _as_int)
    if first_vf_offset is not None and first_vf_offset < pfs_per_card:
        sriov.fail("first_vf_offset", f"{first_vf_offset} would put VFs on the PFs' routing ids")
    profile = HostProfile(
        name=root.text("name", pattern=_NAME, shape="lowercase letters, digits, - and _"),
        description=root.text("description"),
        source=source,
        role=root.optional("role", _as_role) or CardRole.NIC,
        pf=_function_ids(root.section("pf")),
        vf=_function_ids(root.section("vf")),
        cards=root.integer("cards", default=1, low=1, high=32),
        pfs_per_card=pfs_per_card,
        sriov_totalvfs=totalvfs,
        default_vfs=sriov.integer("default_vfs", low=0, high=totalvfs),
        first_vf_offset=first_vf_offset,
        netdev=_netdev(root.section("netdev")),
        vpd=_vpd(root.section("vpd")),
    )
    sriov.finish()
    root.finish()
    return profile


def _function_ids(section: _Section) -> FunctionIds:
    vendor = section.hex4("vendor_id")
    device = section.hex4("device_id")
    ids = FunctionIds(
        vendor_id=vendor,
        device_id=device,
        subsystem_vendor_id=section.hex4("subsystem_vendor_id", default=vendor),
        subsystem_device_id=section.hex4("subsystem_device_id", default="0000"),
        device_class=section.integer("class", default=0x020000, low=0, high=0xFFFFFF),
        driver=section.text("driver", pattern=_DRIVER, shape="a kernel driver name"),
    )
    section.finish()
    return ids


def _netdev(section: _Section) -> NetdevNaming:
    naming = NetdevNaming(
        pf_ifname=section.template("pf_ifname", IFNAME_FIELDS),
        vf_ifname=section.template("vf_ifname", IFNAME_FIELDS),
        pf_phys_port_name=section.optional_template("pf_phys_port_name", IFNAME_FIELDS),
        vf_phys_port_name=section.optional_template("vf_phys_port_name", IFNAME_FIELDS),
        phys_switch_id=section.boolean("phys_switch_id", default=False),
        eswitch_mode=section.optional("eswitch_mode", _as_eswitch_mode),
        pf_mac_oui=section.text("pf_mac_oui", pattern=_OUI, shape="three lowercase hex bytes"),
    )
    if int(naming.pf_mac_oui[:2], 16) & 0x03:
        section.fail("pf_mac_oui", "a vendor OUI is universal and unicast (low bits 00)")
    section.finish()
    return naming


def _vpd(section: _Section) -> VpdTemplate:
    template = VpdTemplate(
        card_name=section.template("card_name", VPD_FIELDS),
        serial_prefix=section.optional("serial_prefix", _as_serial_prefix),
        read_only=section.keywords("read_only"),
        read_write=section.keywords("read_write", default=()),
        rw_size=section.integer("rw_size", default=0, low=0, high=255),
        on_vfs=section.boolean("on_vfs", default=False),
    )
    uses_serial = any("{serial}" in value for _, value in template.read_only)
    if uses_serial and template.serial_prefix is None:
        section.fail("read_only", "uses {serial} but serial_prefix is null")
    if template.serial_prefix is not None and not uses_serial:
        section.fail("read_only", 'has no SN: "{serial}" although serial_prefix is set')
    _check_encodable(section, template)
    section.finish()
    return template


def _check_encodable(section: _Section, template: VpdTemplate) -> None:
    # A longest-case expansion: a card whose VPD encodes now encodes for every seed.
    values = {
        "serial": (template.serial_prefix or "") + "W" * 5,
        "uuid": "f" * 32,
        "card": 99,
        "pf": 99,
    }
    card_name = expand(template.card_name, values)
    read_only = {keyword: expand(value, values) for keyword, value in template.read_only}
    read_write = {keyword: expand(value, values) for keyword, value in template.read_write}
    # Read-only alone first, so that an error names the section it comes from.
    for part, rw, rw_size in (
        ("read_only", None, 0),
        ("read_write", read_write or None, template.rw_size),
    ):
        try:
            encode_vpd(card_name, read_only, rw, rw_size=rw_size)
        except VpdFieldUnencodable as exc:
            if exc.keyword == "identifier string":
                section.fail("card_name", exc.problem)
            if exc.keyword == "RW":
                section.fail("rw_size", exc.problem)
            section.fail(f"{part}.{exc.keyword}", exc.problem)


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


def _as_role(value: object) -> CardRole:
    try:
        return CardRole(str(value))
    except ValueError:
        choices = ", ".join(role.value for role in CardRole)
        raise ValueError(f"{value!r} is not a card role ({choices})") from None


def _as_eswitch_mode(value: object) -> EswitchMode:
    try:
        return EswitchMode(str(value))
    except ValueError:
        raise ValueError(
            f"must be null, {EswitchMode.SWITCHDEV} or {EswitchMode.LEGACY}, not {value!r}"
        ) from None


def _as_serial_prefix(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z0-9]{1,16}", value):
        raise ValueError("must be 1 to 16 uppercase letters or digits, e.g. MT2113X")
    return value


class _Section:
    """One mapping of the YAML document; remembers which keys were read."""

    def __init__(self, source: str, path: str, value: object) -> None:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise SimProfileInvalid(source, path or "(document)", "must be a mapping of keys")
        self.source = source
        self.path = path
        self.values: dict[str, object] = value
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> NoReturn:
        raise SimProfileInvalid(self.source, self.key(name), problem)

    def finish(self) -> None:
        unknown = sorted(set(self.values) - self.seen)
        if unknown:
            self.fail(unknown[0], f"unknown key; known here: {', '.join(sorted(self.seen))}")

    def raw(self, name: str) -> object:
        self.seen.add(name)
        if name not in self.values:
            self.fail(name, "missing")
        return self.values[name]

    def optional(self, name: str, convert: Callable[[object], T]) -> T | None:
        self.seen.add(name)
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError as exc:
            raise SimProfileInvalid(self.source, self.key(name), str(exc)) from None

    def section(self, name: str) -> _Section:
        return _Section(self.source, self.key(name), self.raw(name))

    def text(self, name: str, *, pattern: re.Pattern[str] | None = None, shape: str = "") -> str:
        value = self.raw(name)
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"must be a non-empty string, not {value!r}")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(name, f"{value!r} is not {shape}")
        return value

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int:
        if default is not None and name not in self.values:
            self.seen.add(name)
            return default
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be an integer, not {value!r}")
        if not low <= value <= high:
            self.fail(name, f"{value} is out of range {low}..{high}")
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        if name not in self.values:
            self.seen.add(name)
            return default
        value = self.raw(name)
        if not isinstance(value, bool):
            self.fail(name, f"must be true or false, not {value!r}")
        return value

    def hex4(self, name: str, *, default: str | None = None) -> str:
        if default is not None and name not in self.values:
            self.seen.add(name)
            return default
        value = self.raw(name)
        # Unquoted 1592 is an int in YAML; its digits are still the id that was meant.
        text = str(value).lower() if isinstance(value, (str, int)) else ""
        if isinstance(value, bool) or not _HEX4.fullmatch(text):
            self.fail(name, f'must be 4 hex digits such as "15b3", not {value!r}')
        return text

    def template(self, name: str, fields: tuple[str, ...]) -> str:
        value = self.text(name)
        _check_template(self, name, value, fields)
        return value

    def optional_template(self, name: str, fields: tuple[str, ...]) -> str | None:
        if self.values.get(name) is None:
            self.seen.add(name)
            return None
        return self.template(name, fields)

    def keywords(
        self, name: str, *, default: tuple[tuple[str, str], ...] | None = None
    ) -> tuple[tuple[str, str], ...]:
        if default is not None and self.values.get(name) is None:
            self.seen.add(name)
            return default
        section = self.section(name)
        pairs = []
        for keyword in section.values:
            if not _KEYWORD.fullmatch(keyword):
                section.fail(keyword, "a VPD keyword is two uppercase letters or digits")
            value = section.values[keyword]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                section.fail(keyword, f"must be a string, not {value!r}")
            text = str(value)
            _check_template(section, keyword, text, VPD_FIELDS)
            pairs.append((keyword, text))
        return tuple(pairs)


def _check_template(section: _Section, name: str, value: str, fields: tuple[str, ...]) -> None:
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        section.fail(name, f"{value!r} is not a valid template: {exc}")
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in fields or spec or conversion:
            section.fail(
                name,
                f"unknown placeholder {{{field}}}; use {', '.join(f'{{{f}}}' for f in fields)}",
            )


def expand(template: str, values: Mapping[str, object]) -> str:
    """Fill a validated profile template."""
    return template.format_map(values)
