"""Configuration of offpath's services, read from nova.conf-shaped files with oslo.config.

Option names and defaults are Nova's where Nova has the option, so an
operator's nova.conf means the same here: `[DEFAULT] host`, `transport_url`,
`service_down_time`, `report_interval`, `update_resources_interval`,
`vif_plugging_timeout`, `vif_plugging_is_fatal`, `[api_database] connection`,
`[database] connection`, `[libvirt] connection_uri` and `virt_type`;
`[neutron] endpoint` (nova.conf's `endpoint_override` is read too) and
`[nova] endpoint`, the compute API the network service posts
events to; Keystone's `[DEFAULT] public_endpoint` and `[token] expiration`;
Nova's `[service_user]` (a password login for services in other processes);
offpath's own `[api]` (listen address, the opt-in static token) and
`[offpath]` groups. With no file at all, everything lives in a state directory:
SQLite files and oslo.messaging's in-process transport, for one process.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from oslo_config import cfg, types

from offpath.config import check_config_file, read_config_files
from offpath.errors import ConfigFileError, ConfigValueError
from offpath.network.ovn.config import (
    DEFAULT_PROBE_INTERVAL as DEFAULT_OVN_PROBE_INTERVAL,
)
from offpath.network.ovn.config import (
    DEFAULT_TIMEOUT as DEFAULT_OVN_TIMEOUT,
)
from offpath.network.ovn.config import (
    OvnConfig,
    TlsFiles,
    connection_problem,
)
from offpath.ports.events import HARD_REBOOT_WAIT_CHOICES
from offpath.service_token import PasswordCredentials, PasswordLogin, StaticToken, TokenSource

DEFAULT_STATE_DIR: Final = Path(".offpath")
EMBEDDED_TRANSPORT: Final = "fake://"
DEFAULT_NEUTRON_ENDPOINT: Final = "http://127.0.0.1:8774/network"
# Empty: the compute API of the cloud the network service runs in (`offpath serve`).
DEFAULT_NOVA_ENDPOINT: Final = ""


def _options() -> dict[str, list[cfg.Opt]]:
    return {
        "DEFAULT": [
            cfg.StrOpt("host", default=socket.gethostname(), help="This host's name."),
            cfg.StrOpt("transport_url", help="oslo.messaging URL of the message queue."),
            cfg.IntOpt("service_down_time", default=60, min=1, help="Seconds without heartbeat."),
            cfg.IntOpt("report_interval", default=10, min=1, help="Seconds between heartbeats."),
            cfg.IntOpt(
                "update_resources_interval",
                default=60,
                min=0,
                help="Seconds between inventory reports (0: Nova's default of 60).",
            ),
            cfg.IntOpt("rpc_response_timeout", default=60, min=1, help="Seconds for an RPC call."),
            cfg.StrOpt(
                "public_endpoint",
                default="",
                deprecated_opts=[cfg.DeprecatedOpt("public_endpoint", group="api")],
                help="Base URL clients reach the API at: the catalog and version document "
                "links (empty: the request's own host).",
            ),
            cfg.IntOpt(
                "long_rpc_timeout",
                default=1800,
                min=1,
                help="Seconds for an RPC call that may take long: a host's step of a move "
                "(a live migration, a spawn that waits for plug events). Nova's option.",
            ),
            cfg.IntOpt(
                "shelved_offload_time",
                default=0,
                min=-1,
                help="0: a shelved server is offloaded at once (its VFs freed); -1: never "
                "(shelveOffload does it). Nova's option.",
            ),
            cfg.IntOpt(
                "vif_plugging_timeout",
                default=300,
                min=0,
                help="Seconds a spawn waits for network-vif-plugged (0: do not wait).",
            ),
            cfg.IntOpt(
                "agent_down_time",
                default=75,
                min=1,
                help="Seconds after which a DPU chassis that stopped answering is dead "
                "(Neutron's option).",
            ),
            cfg.BoolOpt(
                "vif_plugging_is_fatal",
                default=True,
                help="A plug event that does not come in time fails the spawn.",
            ),
        ],
        "workarounds": [
            cfg.ListOpt(
                "wait_for_vif_plugged_event_during_hard_reboot",
                default=[],
                item_type=types.String(choices=sorted(HARD_REBOOT_WAIT_CHOICES)),
                help="vnic types whose ports a hard reboot waits for (a remote-managed port: "
                "its backend's confirmation). Nova's option.",
            )
        ],
        "api_database": [cfg.StrOpt("connection", help="SQLAlchemy URL of the API database.")],
        "database": [cfg.StrOpt("connection", help="SQLAlchemy URL of this cell's database.")],
        "libvirt": [
            cfg.StrOpt("connection_uri", default="", help="libvirt URI."),
            cfg.StrOpt(
                "live_migration_uri",
                default="",
                help="URI a live migration's source hands the guest to; %s is the destination "
                "host (empty: qemu+tcp://%s/system). Nova's option.",
            ),
            cfg.StrOpt(
                "virt_type",
                default="kvm",
                choices=["kvm", "lxc", "qemu", "parallels"],
                help="The libvirt domain type; only kvm and qemu wait for plug events.",
            ),
        ],
        "neutron": [
            cfg.StrOpt(
                "endpoint",
                default=DEFAULT_NEUTRON_ENDPOINT,
                # nova.conf names it so (a keystoneauth option).
                deprecated_opts=[cfg.DeprecatedOpt("endpoint_override", group="neutron")],
                help="Base URL of the network service (unversioned; a real Neutron's works too).",
            )
        ],
        "nova": [
            cfg.StrOpt(
                "endpoint",
                default=DEFAULT_NOVA_ENDPOINT,
                deprecated_opts=[cfg.DeprecatedOpt("endpoint_override", group="nova")],
                help="Compute API URL the network service posts server external events to "
                "(empty: the compute API of the cloud it runs in).",
            )
        ],
        "api": [
            cfg.StrOpt(
                "auth_token",
                default="",
                secret=True,
                help="Opt-in: a static token that acts as admin in every project (a bootstrap "
                "credential, like Keystone's admin_token; empty: Keystone tokens only).",
            ),
            cfg.StrOpt("listen", default="127.0.0.1", help="Address the HTTP API listens on."),
            cfg.PortOpt("port", default=8774, help="Port the HTTP API listens on."),
            cfg.StrOpt(
                "default_project",
                default="admin",
                help="The project of a request that carries no X-Project-Id header.",
            ),
        ],
        "token": [
            cfg.IntOpt(
                "expiration",
                default=3600,
                min=60,
                help="Seconds a token stays valid after it is issued (Keystone's default).",
            )
        ],
        "service_user": [
            cfg.StrOpt("auth_url", default="", help="Identity endpoint (…/identity/v3)."),
            cfg.StrOpt("username", default="", help="The service user's name."),
            cfg.StrOpt("password", default="", secret=True, help="The service user's password."),
            cfg.StrOpt("project_name", default="service", help="The project to scope to."),
            cfg.StrOpt("user_domain_name", default="Default", help="The user's domain."),
            cfg.StrOpt("project_domain_name", default="Default", help="The project's domain."),
        ],
        "ovn": [
            cfg.StrOpt(
                "ovn_nb_connection",
                default="",
                help="OVN Northbound database (tcp:IP:PORT, ssl:IP:PORT or unix:PATH); set, "
                "remote-managed ports are bound through OVN (empty: `offpath serve --ovn` "
                "starts its own in the state directory).",
            ),
            cfg.StrOpt("ovn_sb_connection", default="", help="OVN Southbound database."),
            *(
                cfg.StrOpt(f"ovn_{db}_{what}", default="", help=f"{text} for an ssl: {db}.")
                for db in ("nb", "sb")
                for what, text in (
                    ("private_key", "Private key file"),
                    ("certificate", "Certificate file"),
                    ("ca_cert", "CA certificate file"),
                )
            ),
            cfg.IntOpt(
                "ovsdb_connection_timeout",
                default=DEFAULT_OVN_TIMEOUT,
                min=1,
                help="Seconds an OVSDB command waits for the server.",
            ),
            cfg.IntOpt(
                "ovsdb_probe_interval",
                default=DEFAULT_OVN_PROBE_INTERVAL,
                min=0,
                help="Milliseconds between probes of an idle OVSDB connection (0: none).",
            ),
        ],
        "offpath": [
            cfg.FloatOpt(
                "cell_timeout",
                default=10.0,
                min=0.1,
                help="Seconds a query that spans cells waits for each cell.",
            )
        ],
    }


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything a service process reads from its config files."""

    files: tuple[Path, ...]
    state_dir: Path
    host: str
    transport_url: str
    api_database_url: str
    cell_database_url: str
    cell0_database_url: str
    libvirt_uri: str
    service_down_time: int
    report_interval: int
    update_resources_interval: int
    rpc_response_timeout: int
    cell_timeout: float
    neutron_endpoint: str = DEFAULT_NEUTRON_ENDPOINT
    nova_endpoint: str = DEFAULT_NOVA_ENDPOINT
    api_auth_token: str = ""
    api_listen: str = "127.0.0.1"
    api_port: int = 8774
    api_public_endpoint: str = ""
    api_default_project: str = "admin"
    token_expiration: int = 3600
    # A password login for services in other processes (agents); None: not configured.
    service_user: PasswordCredentials | None = None
    vif_plugging_timeout: int = 300
    vif_plugging_is_fatal: bool = True
    virt_type: str = "kvm"
    agent_down_time: int = 75
    long_rpc_timeout: int = 1800
    shelved_offload_time: int = 0
    live_migration_uri: str = ""
    hard_reboot_wait_vnic_types: frozenset[str] = frozenset()
    # None: the network service binds remote-managed ports with its simulated DPUs.
    ovn: OvnConfig | None = None

    @property
    def embedded(self) -> bool:
        """True when every part runs in one process (in-process transport)."""
        return self.transport_url == EMBEDDED_TRANSPORT


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _cell0_url(url: str) -> str:
    """Nova's convention: cell0's database is the cell's, named with a `_cell0` suffix."""
    # SQLAlchemy loads only for a configured cell: every CLI command reads this module.
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite":
        path = Path(database)
        return _sqlite(path.with_name(f"{path.stem}_cell0{path.suffix}"))
    return parsed.set(database=f"{database}_cell0").render_as_string(hide_password=False)


def load_service_config(
    files: Sequence[Path], *, state_dir: Path = DEFAULT_STATE_DIR
) -> ServiceConfig:
    """Read the service options of `files` (later files win); defaults under `state_dir`."""
    for path in files:
        check_config_file(path)
    conf = cfg.ConfigOpts()
    for group, opts in _options().items():
        conf.register_opts(opts, group=None if group == "DEFAULT" else group)
    read_config_files(conf, files)
    where = ", ".join(map(str, files)) or "(no config file)"
    try:
        # Values are checked, and $name substituted, when read.
        values = {
            "host": conf.host,
            "transport_url": conf.transport_url,
            "service_down_time": conf.service_down_time,
            "report_interval": conf.report_interval,
            "update_resources_interval": conf.update_resources_interval or 60,
            "rpc_response_timeout": conf.rpc_response_timeout,
            "long_rpc_timeout": conf.long_rpc_timeout,
            "shelved_offload_time": conf.shelved_offload_time,
            "live_migration_uri": conf.libvirt.live_migration_uri,
            "hard_reboot_wait": conf.workarounds.wait_for_vif_plugged_event_during_hard_reboot,
            "api": conf.api_database.connection,
            "cell": conf.database.connection,
            "libvirt": conf.libvirt.connection_uri,
            "cell_timeout": conf.offpath.cell_timeout,
            "neutron": conf.neutron.endpoint,
            "nova": conf.nova.endpoint,
            "api_auth_token": conf.api.auth_token,
            "api_listen": conf.api.listen,
            "api_port": conf.api.port,
            "api_public_endpoint": conf.public_endpoint,
            "token_expiration": conf.token.expiration,
            "service_user": _service_user(conf, where),
            "api_default_project": conf.api.default_project,
            "vif_plugging_timeout": conf.vif_plugging_timeout,
            "vif_plugging_is_fatal": conf.vif_plugging_is_fatal,
            "virt_type": conf.libvirt.virt_type,
            "agent_down_time": conf.agent_down_time,
            "ovn": _ovn_config(conf, where),
        }
    except cfg.ConfigFileValueError as exc:
        raise ConfigValueError(
            path=where,
            section=_key_of(exc)[0],
            key=_key_of(exc)[1],
            value=str(exc),
            problem="not a valid value",
            hint="see the option's type in `offpath --help`; numbers are whole seconds",
        ) from exc
    except (cfg.Error, RecursionError) as exc:
        raise ConfigFileError(where, str(exc) or type(exc).__name__) from exc
    state_dir = state_dir.resolve()
    return ServiceConfig(
        files=tuple(files),
        state_dir=state_dir,
        host=_text(values["host"]),
        transport_url=_text(values["transport_url"]) or EMBEDDED_TRANSPORT,
        api_database_url=_text(values["api"]) or _sqlite(state_dir / "api.sqlite"),
        cell_database_url=_text(values["cell"]) or _sqlite(state_dir / "cell1.sqlite"),
        cell0_database_url=(
            _cell0_url(_text(values["cell"]))
            if values["cell"]
            else _sqlite(state_dir / "cell0.sqlite")
        ),
        libvirt_uri=_text(values["libvirt"]) or "test:///default",
        service_down_time=int(values["service_down_time"]),
        report_interval=int(values["report_interval"]),
        update_resources_interval=int(values["update_resources_interval"]),
        rpc_response_timeout=int(values["rpc_response_timeout"]),
        long_rpc_timeout=int(values["long_rpc_timeout"]),
        shelved_offload_time=int(values["shelved_offload_time"]),
        live_migration_uri=_text(values["live_migration_uri"]),
        hard_reboot_wait_vnic_types=frozenset(values["hard_reboot_wait"] or ()),
        cell_timeout=float(values["cell_timeout"]),
        neutron_endpoint=_text(values["neutron"]) or DEFAULT_NEUTRON_ENDPOINT,
        nova_endpoint=_text(values["nova"]) or DEFAULT_NOVA_ENDPOINT,
        api_auth_token=_text(values["api_auth_token"]),
        api_listen=_text(values["api_listen"]),
        api_port=int(values["api_port"]),
        api_public_endpoint=_text(values["api_public_endpoint"]).rstrip("/"),
        api_default_project=_text(values["api_default_project"]) or "admin",
        token_expiration=int(values["token_expiration"]),
        service_user=values["service_user"],
        vif_plugging_timeout=int(values["vif_plugging_timeout"]),
        vif_plugging_is_fatal=bool(values["vif_plugging_is_fatal"]),
        virt_type=_text(values["virt_type"]),
        agent_down_time=int(values["agent_down_time"]),
        ovn=values["ovn"],
    )


def _service_user(conf: cfg.ConfigOpts, where: str) -> PasswordCredentials | None:
    group = conf.service_user
    if not group.username:
        return None
    for key in ("auth_url", "password", "project_name"):
        if not getattr(group, key):
            raise ConfigValueError(
                path=where,
                section="service_user",
                key=key,
                value="",
                problem="empty, but [service_user] username is set",
                hint="give auth_url (…/identity/v3), password and project_name with username",
            )
    return PasswordCredentials(
        auth_url=group.auth_url,
        username=group.username,
        password=group.password,
        project_name=group.project_name,
        user_domain_name=group.user_domain_name,
        project_domain_name=group.project_domain_name,
    )


def service_credentials(config: ServiceConfig) -> TokenSource:
    """How a service in its own process authenticates: `[service_user]`, else the static token."""
    if config.service_user is not None:
        return PasswordLogin(config.service_user)
    if config.api_auth_token:
        return StaticToken(config.api_auth_token)
    where = ", ".join(map(str, config.files)) or "(no config file)"
    raise ConfigValueError(
        path=where,
        section="service_user",
        key="username",
        value="",
        problem="this service calls the API but has no credentials",
        hint="set [service_user] auth_url, username, password and project_name (a user with "
        "the admin and service roles: `offpath identity user create`), or the opt-in "
        "[api] auth_token",
    )


def _ovn_config(conf: cfg.ConfigOpts, where: str) -> OvnConfig | None:
    """The `[ovn]` section; None when it names no Northbound database."""
    group = conf.ovn
    nb, sb = _text(group.ovn_nb_connection), _text(group.ovn_sb_connection)
    if not nb and not sb:
        return None
    for key, value in (("ovn_nb_connection", nb), ("ovn_sb_connection", sb)):
        problem = connection_problem(value) if value else "empty while the other is set"
        if problem is not None:
            raise ConfigValueError(
                path=where,
                section="ovn",
                key=key,
                value=value,
                problem=problem,
                hint="name both OVN databases as Neutron's [ovn] section does, e.g. "
                "tcp:192.0.2.10:6641 and tcp:192.0.2.10:6642",
            )
    return OvnConfig(
        nb_connection=nb,
        sb_connection=sb,
        timeout=int(group.ovsdb_connection_timeout),
        probe_interval=int(group.ovsdb_probe_interval),
        nb_tls=TlsFiles(
            _text(group.ovn_nb_private_key),
            _text(group.ovn_nb_certificate),
            _text(group.ovn_nb_ca_cert),
        ),
        sb_tls=TlsFiles(
            _text(group.ovn_sb_private_key),
            _text(group.ovn_sb_certificate),
            _text(group.ovn_sb_ca_cert),
        ),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _key_of(exc: Exception) -> tuple[str, str]:
    """The (section, key) a value error names; the longest name that matches wins."""
    text = str(exc)
    found = [
        (group, opt.name) for group, opts in _options().items() for opt in opts if opt.name in text
    ]
    return max(found, key=lambda item: len(item[1]), default=("DEFAULT", "?"))
