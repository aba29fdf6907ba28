"""The one error hierarchy of offpath.

::

    OffpathError                      code "offpath"
    ├── InvalidInput                  bad input from a user or a config file
    │   ├── ConfigFileError           config.file     (unreadable/unparsable file)
    │   ├── ConfigValueError          config.value    (a key's value is wrong)
    │   ├── PciConfigInvalidSpec      pci.devspec.invalid
    │   ├── PciDeviceWrongAddressFormat pci.address.format
    │   ├── PciDeviceInvalidDeviceName  pci.devspec.devname_and_address
    │   ├── PciDeviceRemoteManagedNotPresent pci.devspec.remote_managed_absent
    │   ├── PciDeviceInvalidPFRemoteManaged  pci.devspec.remote_managed_pf
    │   ├── PciInvalidAlias           pci.alias.invalid
    │   ├── VpdError                  pci.vpd.malformed
    │   ├── InputFileError            input.file      (a file offpath cannot or will not read)
    │   ├── NodeDevXmlError           libvirt.nodedev.xml (node device XML offpath cannot read)
    │   ├── VpdFieldUnencodable       sim.vpd.unencodable (a VPD field the simulator cannot write)
    │   ├── SimProfileNotFound        sim.profile.not_found
    │   ├── SimProfileInvalid         sim.profile.invalid (a key of a simulator profile)
    │   ├── SimFaultInvalid           sim.fault.invalid
    │   ├── SimOptionInvalid          sim.option.invalid  (a host the profile cannot lay out)
    │   ├── SimOutputInvalid          sim.output.invalid  (where the simulated tree would go)
    │   ├── SimHostSpecInvalid        sim.host_spec.invalid (a --sim-host NAME=PROFILE,... value)
    │   ├── NetworkWithoutPhysnetSegment port.network.no_physnet_segment
    │   ├── VnicTypeInvalid           port.vnic_type.invalid
    │   ├── BindingProfileInvalid     port.profile.invalid
    │   ├── VifTypeUnsupported        port.vif_type.unsupported
    │   ├── VifObjectInvalid          port.osvif.invalid
    │   ├── GuestInterfaceXmlInvalid  libvirt.interface_xml.invalid
    │   ├── PrimitiveInvalid          record.primitive.invalid (a record's RPC/database form)
    │   ├── SysfsRootInvalid          pci.sysfs.root  (the directory that plays /sys)
    │   ├── DatabaseUrlInvalid        db.url.invalid
    │   ├── RpcTransportInvalid       rpc.transport_url.invalid
    │   ├── ForbiddenWithRemoteManagedPorts compute.remote_managed.upgrade_unfinished
    │   ├── FlavorExtraSpecInvalid    flavor.extra_spec.invalid
    │   ├── PciRequestAliasNotDefined pci.alias.not_defined
    │   ├── OptionsConflict           cli.options.conflict (two options that exclude each other)
    │   ├── NetworkRequestInvalid     network.request.invalid (Neutron's message)
    │   ├── RequestBodyInvalid        api.request.invalid (an HTTP body or query off the schema)
    │   ├── ServerRequestInvalid      server.request.invalid (flavor, image or network unusable)
    │   ├── RequestedPortNotFound     server.port.not_found (absent, or another project's)
    │   ├── GuestInterfaceUnsupported compute.guest.vnic_type (a port the agent cannot give a guest)
    │   ├── OvnNotConfigured          ovn.not_configured (no [ovn] databases, none in the state dir)
    │   ├── MoveNoValidHost           compute.move.no_valid_host (no destination; why per host)
    │   ├── MigrationPreCheckError    compute.migration.precheck (live migration refused up front)
    │   ├── ComputeServiceInUse       compute.evacuate.source_up (evacuating a running host)
    │   ├── CannotResizeToSameFlavor  compute.resize.same_flavor
    │   ├── InterfaceAttachPciClaimFailed compute.interface.pci_claim_failed (no VF on the host)
    │   ├── ServiceUpdateInvalid      compute.service.update_invalid (Nova's os-services PUT rules)
    │   ├── IdentityInvalid           identity.invalid (a name, password or login Keystone refuses)
    │   ├── PolicyFileInvalid         policy.file.invalid (a policy.yaml rule offpath cannot read)
    │   ├── KeypairInvalid            compute.keypair.invalid (a public key or certificate unread)
    │   ├── SecurityGroupRuleInvalid  network.security_group_rule.invalid (Neutron's message)
    │   ├── SecurityGroupNotAssociated compute.security_group.not_associated (Nova's message)
    │   └── SecurityGroupNotFoundForBoot compute.security_group.boot_not_found (Nova's 400)
    ├── NotFound
    │   ├── PciDeviceNotFoundById     pci.device.not_found
    │   ├── PciDeviceNotFound         pci.device.not_on_host
    │   ├── CellNotFound              cell.not_found
    │   ├── InstanceNotFound          instance.not_found
    │   ├── ComputeHostNotFound       compute.host_not_found
    │   ├── PortNotFound              port.not_found
    │   ├── NetworkNotFound           network.not_found
    │   ├── SubnetNotFound            network.subnet.not_found
    │   ├── ChassisNotFound           network.chassis.not_found
    │   ├── FlavorNotFound            flavor.not_found
    │   ├── FlavorExtraSpecNotFound   flavor.extra_spec.not_found
    │   ├── ImageNotFound             image.not_found
    │   ├── InstanceActionNotFound    instance.action.not_found
    │   ├── NoInstancesForEvents      instance.events.none (no event of a batch was accepted)
    │   ├── PortBindingNotFound       network.port_binding.not_found (no binding for that host)
    │   ├── MigrationNotFoundByStatus compute.migration.not_found
    │   ├── PortNotAttached           compute.interface.not_attached
    │   ├── ServiceNotFound           compute.service.not_found (no service of that id)
    │   ├── TokenNotFound             identity.token.not_found (a subject token not valid)
    │   ├── IdentityNotFound          identity.not_found (a domain, project, user or role)
    │   ├── MetadataItemNotFound      instance.metadata.not_found (no such key on the server)
    │   ├── KeypairNotFound           compute.keypair.not_found (none of that name for the user)
    │   ├── SecurityGroupNotFound     network.security_group.not_found (Neutron's message)
    │   ├── SecurityGroupRuleNotFound network.security_group_rule.not_found
    │   └── ComputeSecurityGroupNotFound compute.security_group.not_found (Nova's 404)
    ├── Conflict                      the current state does not allow it
    │   ├── PciDeviceInvalidStatus    pci.claim.invalid_status
    │   ├── PciDeviceVFInvalidStatus  pci.claim.vf_invalid_status
    │   ├── PciDevicePFInvalidStatus  pci.claim.pf_invalid_status
    │   ├── PciDeviceInvalidOwner     pci.claim.invalid_owner
    │   ├── PortUpdateFailed          port.update_failed
    │   ├── RemoteManagedDeviceIncomplete port.profile.device_incomplete (checked before any change)
    │   ├── PciDeviceRequestFailed    pci.request.failed (no pool can serve the requests)
    │   ├── PciDevicePoolEmpty        pci.pool.empty     (removing a device no pool holds)
    │   ├── PciDeviceAlreadyTracked   pci.pool.duplicate (a second device at one address)
    │   ├── CellExists                cell.exists
    │   ├── NoValidHost               scheduler.no_valid_host (with why each host was rejected)
    │   ├── HostChangedConcurrently   scheduler.host_changed (a claim lost a race)
    │   ├── PortInUse                 port.in_use
    │   ├── TransactionConflict       db.conflict (a deadlock or serialization failure)
    │   ├── MacAddressInUse           network.port.mac_in_use
    │   ├── IpAddressInUse            network.port.ip_in_use
    │   ├── IpAddressGenerationFailure network.subnet.exhausted
    │   ├── NetworkInUse              network.in_use
    │   ├── NetworkRequestConflict    network.request.conflict (Neutron's message)
    │   ├── FlavorExists              flavor.exists
    │   ├── ImageNotActive            image.status (data uploaded twice)
    │   ├── ImageExists               image.exists
    │   ├── PortBindingFailed         port.binding_failed (the network backend could not bind)
    │   ├── BuildAborted              compute.build.aborted (deleted while it was being built)
    │   ├── PortBindingAlreadyExists  network.port_binding.exists (a binding for that host)
    │   ├── PortBindingAlreadyActive  network.port_binding.already_active
    │   ├── PortBindingError          network.port_binding.failed (no driver binds it there)
    │   ├── PortBindingActivationFailed port.binding_activation_failed (Nova's message)
    │   ├── InstanceInvalidState      instance.invalid_state (Nova's "Cannot '<action>' ...")
    │   ├── ComputeServiceTooOld      compute.service.too_old (an agent without a step)
    │   ├── StaleStep                 compute.step.stale (sent before the agent restarted)
    │   ├── IdentityConflict          identity.conflict (a name taken in its domain)
    │   ├── KeypairExists             compute.keypair.exists (the user has one of that name)
    │   ├── SecurityGroupInUse        network.security_group.in_use (a port uses it)
    │   ├── SecurityGroupRuleExists   network.security_group_rule.exists (the same match)
    │   ├── SecurityGroupDefaultAlreadyExists network.security_group.default_exists
    │   ├── SecurityGroupCannotUpdateDefault network.security_group.default_update
    │   ├── SecurityGroupCannotRemoveDefault network.security_group.default_remove
    │   └── SecurityGroupNameAmbiguous compute.security_group.ambiguous (Nova's 409)
    ├── Unauthenticated               who calls is not known: no, a bad or an ended token
    │   └── AuthenticationFailed      identity.auth.failed (why is logged, never answered)
    ├── Forbidden                     the caller is known but may not do this
    │   ├── ScopeRefused              identity.scope.refused (no role on the scope asked)
    │   ├── TokenInspectionForbidden  identity.token.forbidden (another user's token)
    │   ├── ImageProtected            image.protected (a protected image is not deleted)
    │   └── MetadataLimitExceeded     instance.metadata.limit (over Nova's 128 metadata items)
    └── Unavailable                   a service offpath needs does not answer
        ├── LibvirtUnavailable        libvirt.unavailable
        ├── DatabaseUnavailable       db.unavailable
        ├── DatabaseSchemaOutdated    db.schema.outdated (run `offpath db sync`)
        ├── NoComputeServices         compute.none_registered
        ├── RpcUnavailable            rpc.unavailable (the message queue cannot be reached)
        ├── RpcTimeout                rpc.timeout     (no service answered a call in time)
        ├── RpcRemoteError            rpc.remote      (the called service failed)
        ├── NetworkServiceUnavailable network.unavailable (the network service or Neutron)
        ├── VifPlugFailed             compute.vif.plug_failed (os-vif could not plug a VIF)
        ├── VirtualInterfaceCreateFailed compute.vif.create_failed (no plug event in time)
        ├── GuestFailed               libvirt.guest.failed (libvirt refused a guest step)
        ├── ComputeHostDown           compute.host_down (the host went down mid-build)
        ├── ComputeHostRestarted      compute.host_restarted (its agent restarted mid-build)
        ├── CloudStartFailed          serve.start_failed (a part of `offpath serve` did not come up)
        ├── DemoFailed                demo.failed (a step of `offpath demo` went wrong)
        ├── OvnStartFailed            ovn.start_failed (an OVN server offpath starts did not)
        ├── OvnUnavailable            ovn.unavailable (OVN's Northbound or Southbound database)
        ├── InterfaceAttachFailed     compute.interface.attach_failed (undone on the host)
        ├── MoveFailed                compute.move.failed (a host's part of a move; rolled back)
        ├── ServerOperationsUnavailable compute.operations.unavailable (no compute RPC wired)
        └── IdentityUnavailable       identity.unavailable (the identity service a login needs)

Every leaf has a stable dotted ``code`` (never renamed or reused), a message
that says what was wrong and where, and a ``hint`` that says how to fix it.

The kind of an error decides what every surface answers, here and nowhere
else (``http_status`` and ``exit_code`` on the kind classes)::

    kind            HTTP status   CLI exit code
    InvalidInput    400           2   (also the CLI's usage errors)
    NotFound        404           3
    Conflict        409           4
    Unavailable     503           5
    Unauthenticated 401           6
    Forbidden       403           7
    anything else   500           1   (a bug: an error of no kind, or not ours)

Nova's exception messages are kept word for word where offpath has a Nova
counterpart, so operators can search for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Final


class OffpathError(Exception):
    """Base of every error offpath raises on purpose."""

    code: ClassVar[str] = "offpath"
    # An error of no kind is a bug, answered as an internal error.
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(OffpathError):
    """The input (a config value, a file, a request) is wrong."""

    code = "invalid"
    http_status = 400
    exit_code = 2


class NotFound(OffpathError):
    """Something named does not exist."""

    code = "not_found"
    http_status = 404
    exit_code = 3


class ConfigFileError(InvalidInput):
    """A config file cannot be read or parsed."""

    code = "config.file"

    def __init__(self, path: Path | str, problem: str, *, hint: str = "") -> None:
        super().__init__(
            f"config file {path}: {problem}",
            hint=hint or "check the path and that the file is an INI file like nova.conf",
        )
        self.path = str(path)


class ConfigValueError(InvalidInput):
    """One key of a config file holds a value offpath cannot use."""

    code = "config.value"

    def __init__(
        self, *, path: str, section: str, key: str, value: str, problem: str, hint: str
    ) -> None:
        super().__init__(f"{path}: [{section}] {key} = {value!r}: {problem}", hint=hint)
        self.path = path
        self.section = section
        self.key = key
        self.value = value


class InputFileError(InvalidInput):
    """A file cannot be read, or is no regular file, or is too large, or is not text."""

    code = "input.file"

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}", hint="give the path of a readable regular file")
        self.path = str(path)
        self.problem = problem
        self.path = str(path)


class PciConfigInvalidSpec(InvalidInput):
    """One ``[pci] device_spec`` entry is invalid (Nova's PciConfigInvalidSpec)."""

    code = "pci.devspec.invalid"

    def __init__(self, reason: str, *, hint: str = "") -> None:
        super().__init__(
            f"Invalid [pci]device_spec config: {reason}",
            hint=hint
            or (
                "a device_spec is a JSON object: vendor_id and product_id (4 hex digits), "
                "address (DDDD:BB:SS.F glob with '*' fields, or an object of regexes) or "
                "devname, and tags such as physical_network and remote_managed"
            ),
        )
        self.reason = reason


class PciDeviceWrongAddressFormat(InvalidInput):
    """A PCI address (glob, regex or concrete) has the wrong shape."""

    code = "pci.address.format"

    def __init__(self, address: object) -> None:
        super().__init__(
            f"The PCI address {address} has an incorrect format.",
            hint=(
                "use DDDD:BB:SS.F with '*' for whole fields, or an object of "
                "regexes with keys domain, bus, slot, function"
            ),
        )
        self.address = address


class PciDeviceInvalidDeviceName(InvalidInput):
    """A spec names both ``devname`` and ``address``."""

    code = "pci.devspec.devname_and_address"

    def __init__(self) -> None:
        super().__init__(
            "Invalid PCI Whitelist: The PCI whitelist can specify devname or address, but not both",
            hint="keep either devname or address in this spec",
        )


class PciDeviceRemoteManagedNotPresent(InvalidInput):
    """A remote-managed spec's devname does not resolve to a PCI device."""

    code = "pci.devspec.remote_managed_absent"

    def __init__(self, devname: str) -> None:
        super().__init__(
            'Invalid PCI Whitelist: A device specified as "remote_managed" is not '
            "actually present on the host",
            hint=(
                f"no network interface {devname!r} backed by a PCI device was found; "
                "check the name with `ip link`, or select the VFs by address"
            ),
        )
        self.devname = devname


class PciDeviceInvalidPFRemoteManaged(InvalidInput):
    """A remote-managed spec would select a PF (Nova's error, naming the PF and the fix)."""

    code = "pci.devspec.remote_managed_pf"

    def __init__(self, pf_address: str, *, vf_product_id: str | None) -> None:
        vf_hint = (
            f'add "product_id": "{vf_product_id}" (the VF product id of this PF) '
            "so the spec selects its VFs"
            if vf_product_id
            else 'select the VFs by their own addresses or their "product_id"'
        )
        super().__init__(
            f"PF {pf_address} is tagged remote_managed: a PF cannot be remote-managed, "
            "tag its VFs instead",
            hint=f'{vf_hint}; tag the PF itself with "remote_managed": "false" if needed',
        )
        self.pf_address = pf_address


class PciInvalidAlias(InvalidInput):
    """One ``[pci] alias`` entry is invalid (Nova's PciInvalidAlias)."""

    code = "pci.alias.invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Invalid PCI alias definition: {reason}",
            hint=(
                "an alias is a JSON object with name (required), vendor_id, product_id, "
                "device_type, numa_policy, resource_class, traits, live_migratable, "
                "capability_type"
            ),
        )
        self.reason = reason


class PciDeviceNotFoundById(NotFound):
    """A PCI device (or one of its sysfs files) is missing (Nova's message)."""

    code = "pci.device.not_found"

    def __init__(self, device_id: str, *, detail: str = "") -> None:
        super().__init__(
            f"PCI device {device_id} not found",
            hint=detail or "check that the device exists under /sys/bus/pci/devices",
        )
        self.device_id = device_id


class VpdError(InvalidInput):
    """Binary PCI VPD is malformed at a given byte offset."""

    code = "pci.vpd.malformed"

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(
            f"malformed VPD at byte {offset}: {problem}",
            hint="the card's VPD EEPROM content is damaged or not VPD; "
            "a firmware update usually rewrites it",
        )
        self.offset = offset
        self.problem = problem


class NodeDevXmlError(InvalidInput):
    """libvirt node device XML is not well-formed or not shaped as libvirt writes it."""

    code = "libvirt.nodedev.xml"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"libvirt node device XML: {problem}",
            hint="offpath reads the format of `virsh nodedev-dumpxml`; "
            "compare the XML with libvirt's output for the device",
        )
        self.problem = problem


class VpdFieldUnencodable(InvalidInput):
    """A VPD field given to the simulator cannot be written as binary VPD."""

    code = "sim.vpd.unencodable"

    def __init__(self, keyword: str, problem: str) -> None:
        super().__init__(
            f"cannot encode VPD field {keyword}: {problem}",
            hint="keywords are 2 characters A-Z/0-9; values are printable ASCII "
            "of at most 255 bytes (65535 for the identifier string)",
        )
        self.keyword = keyword
        self.problem = problem


class SimProfileNotFound(InvalidInput):
    """A simulator profile name is neither a built-in profile nor a file."""

    code = "sim.profile.not_found"

    def __init__(self, name: str, *, builtins: Sequence[str]) -> None:
        super().__init__(
            f"no simulator profile {name!r}: not a built-in profile and not a file",
            hint=f"use one of {', '.join(builtins)} or the path of a profile YAML file",
        )
        self.name = name


class SimProfileInvalid(InvalidInput):
    """A simulator profile (YAML) is unreadable or one of its keys is wrong."""

    code = "sim.profile.invalid"

    def __init__(self, source: str, key: str, problem: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(
            f"simulator profile {where}: {problem}",
            hint="compare with a built-in profile (src/offpath/sim/profiles/*.yaml)",
        )
        self.source = source
        self.key = key
        self.problem = problem


class SimFaultInvalid(InvalidInput):
    """A simulator fault is unknown or cannot apply where it was aimed."""

    code = "sim.fault.invalid"

    def __init__(self, fault: str, problem: str, *, hint: str = "") -> None:
        super().__init__(
            f"simulator fault {fault!r}: {problem}",
            hint=hint or "write KIND or KIND@ADDRESS with an address of the simulated host",
        )
        self.fault = fault


class SimOptionInvalid(InvalidInput):
    """A simulator option asks for a host the profile cannot lay out."""

    code = "sim.option.invalid"

    def __init__(self, option: str, value: object, problem: str, *, hint: str) -> None:
        super().__init__(f"{option} {value}: {problem}", hint=hint)
        self.option = option
        self.value = value


class SimOutputInvalid(InvalidInput):
    """The simulator cannot write its tree where it was told to."""

    code = "sim.output.invalid"

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(
            f"{path}: {problem}",
            hint="give a new or empty directory, or one the simulator wrote before",
        )
        self.path = str(path)


class Conflict(OffpathError):
    """The current state does not allow the operation (a device's status, a binding)."""

    code = "conflict"
    http_status = 409
    exit_code = 4


def _either(statuses: Sequence[str]) -> str:
    return " or ".join(statuses)


class PciDeviceInvalidStatus(Conflict):
    """A device is in the wrong status for a claim, allocation, free or removal."""

    code = "pci.claim.invalid_status"

    def __init__(self, host: str, address: str, *, status: str, expected: Sequence[str]) -> None:
        super().__init__(
            f"PCI device {host}:{address} is {status} instead of {_either(expected)}",
            hint="another instance holds it or it left the host; the scheduler picks another",
        )
        self.host = host
        self.address = address
        self.status = status
        self.expected = tuple(expected)


class PciDeviceVFInvalidStatus(Conflict):
    """A PF cannot be taken while one of its VFs is in use."""

    code = "pci.claim.vf_invalid_status"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"Not all Virtual Functions of PF {host}:{address} are free.",
            hint="a VF of this PF serves an instance; free it or pick another PF",
        )
        self.host = host
        self.address = address


class PciDevicePFInvalidStatus(Conflict):
    """A VF cannot be taken while its PF is in use."""

    code = "pci.claim.pf_invalid_status"

    def __init__(
        self, host: str, address: str, *, vf_address: str, status: str, expected: Sequence[str]
    ) -> None:
        super().__init__(
            f"Physical Function {host}:{address}, related to VF {host}:{vf_address} "
            f"is {status} instead of {_either(expected)}",
            hint="the PF itself serves an instance; its VFs are free again once it is freed",
        )
        self.host = host
        self.address = address
        self.vf_address = vf_address
        self.status = status


class PciDeviceInvalidOwner(Conflict):
    """A device belongs to another instance than the one acting on it."""

    code = "pci.claim.invalid_owner"

    def __init__(self, host: str, address: str, *, owner: str | None, expected: str | None) -> None:
        super().__init__(
            f"PCI device {host}:{address} is owned by {owner} instead of {expected}",
            hint="act on the device as the instance that claimed it",
        )
        self.host = host
        self.address = address
        self.owner = owner
        self.expected = expected


class PciDeviceNotFound(NotFound):
    """A device is not tracked on a host (Nova's PciDeviceNotFound)."""

    code = "pci.device.not_on_host"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"PCI Device {host}:{address} not found.",
            hint="the device is not in this host's inventory, or no [pci] device_spec selects it",
        )
        self.host = host
        self.address = address


class NetworkWithoutPhysnetSegment(InvalidInput):
    """A multi-segment network none of whose segments has a physnet (Nova bug 1983570)."""

    code = "port.network.no_physnet_segment"

    def __init__(self, network_id: str) -> None:
        super().__init__(
            f"None of the segments of network {network_id} provides a physical_network",
            hint="SR-IOV ports need a VLAN/flat segment, or a single-segment overlay network",
        )
        self.network_id = network_id


class VnicTypeInvalid(InvalidInput):
    """A port's ``binding:vnic_type`` is not one of the known vnic types."""

    code = "port.vnic_type.invalid"

    def __init__(self, value: object, *, known: Sequence[str]) -> None:
        super().__init__(
            f"Invalid binding:vnic_type {value!r}",
            hint=f"use one of: {', '.join(known)}",
        )
        self.value = value


class BindingProfileInvalid(InvalidInput):
    """A ``binding:profile`` offpath has to extend holds a value of the wrong type."""

    code = "port.profile.invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Invalid binding:profile. {reason}",
            hint="fix the port's binding:profile, e.g. `openstack port set --binding-profile`",
        )
        self.reason = reason


class PortUpdateFailed(Conflict):
    """A port's binding cannot be updated for a move (Nova's PortUpdateFailed)."""

    code = "port.update_failed"

    def __init__(self, port_id: str, reason: str, *, hint: str = "") -> None:
        super().__init__(
            f"Port update failed for port {port_id}: {reason}",
            hint=hint or "the port's binding:profile does not match the instance's PCI devices",
        )
        self.port_id = port_id
        self.reason = reason


class RemoteManagedDeviceIncomplete(Conflict):
    """A device lacks a field the remote-managed backend needs; checked before anything changes."""

    code = "port.profile.device_incomplete"

    def __init__(self, port_id: str, address: str, *, missing: Sequence[str]) -> None:
        super().__init__(
            f"PCI device {address} cannot back remote-managed port {port_id}: "
            f"it has no {', '.join(missing)}",
            hint="the backend finds the DPU by card serial, PF MAC and VF number; "
            "`offpath inventory` shows what the host could read for this device",
        )
        self.port_id = port_id
        self.address = address
        self.missing = tuple(missing)


class VifTypeUnsupported(InvalidInput):
    """A VIF type neither os-vif nor the legacy path handles (Nova's message)."""

    code = "port.vif_type.unsupported"

    def __init__(self, vif_type: str, *, hint: str = "") -> None:
        super().__init__(
            f"Unsupported VIF type {vif_type}",
            hint=hint or "bind the port with a mechanism driver that yields vif_type ovs",
        )
        self.vif_type = vif_type


class VifObjectInvalid(InvalidInput):
    """os-vif refused a value of a VIF (a MAC or PCI address, say)."""

    code = "port.osvif.invalid"

    def __init__(self, vif_id: str, problem: str) -> None:
        super().__init__(
            f"VIF {vif_id} cannot be described to os-vif: {problem}",
            hint="check the port's mac_address and binding:profile pci_slot",
        )
        self.vif_id = vif_id
        self.problem = problem


class GuestInterfaceXmlInvalid(InvalidInput):
    """A libvirt ``<interface type='hostdev'>`` element offpath cannot read."""

    code = "libvirt.interface_xml.invalid"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"hostdev interface XML: {problem}",
            hint="give an <interface type='hostdev'> element as libvirt writes it",
        )
        self.problem = problem


class PrimitiveInvalid(InvalidInput):
    """A record's primitive form (sent over RPC, stored in a database) cannot be read back."""

    code = "record.primitive.invalid"

    def __init__(self, record: str, problem: str) -> None:
        super().__init__(
            f"{record} primitive: {problem}",
            hint="the sender and the reader of this record must run compatible offpath versions",
        )
        self.record = record
        self.problem = problem


class SysfsRootInvalid(InvalidInput):
    """The directory given to play `/sys` is missing or holds no PCI devices."""

    code = "pci.sysfs.root"

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(
            f"sysfs root {path}: {problem}",
            hint="give the directory that plays /sys: /sys itself, or a tree "
            "written by the offpath simulator",
        )
        self.path = str(path)
        self.problem = problem


class Unavailable(OffpathError):
    """A service offpath needs (libvirt, a database, a peer) does not answer."""

    code = "unavailable"
    http_status = 503
    exit_code = 5


class Unauthenticated(OffpathError):
    """Who calls is not known: no token, a bad one, an expired or a revoked one."""

    code = "unauthenticated"
    http_status = 401
    exit_code = 6


class Forbidden(OffpathError):
    """The caller is known but its roles do not allow what it asked."""

    code = "forbidden"
    http_status = 403
    exit_code = 7


class LibvirtUnavailable(Unavailable):
    """libvirt cannot be reached at a URI, or refused a call."""

    code = "libvirt.unavailable"

    def __init__(self, uri: str, problem: str) -> None:
        super().__init__(
            f"libvirt at {uri}: {problem}",
            hint="check the URI and that libvirtd runs and lets this user connect "
            "(qemu:///system in production, test:///path/to/node.xml for a test host)",
        )
        self.uri = uri
        self.problem = problem


class PciDeviceRequestFailed(Conflict):
    """A host's pools cannot serve a set of PCI requests (Nova's message)."""

    code = "pci.request.failed"

    def __init__(self, requests: str, *, host: str = "") -> None:
        where = f" on {host}" if host else ""
        super().__init__(
            f"PCI device request {requests} failed",
            hint=f"not enough free devices match the requests{where}; "
            "`offpath inventory` shows each host's pools",
        )
        self.requests = requests
        self.host = host


class PciDevicePoolEmpty(Conflict):
    """A device to remove belongs to no pool of the host (Nova's message)."""

    code = "pci.pool.empty"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"Attempt to consume PCI device {host}:{address} from empty pool",
            hint="the device was never added to this host's pools, or was removed already",
        )
        self.host = host
        self.address = address


class PciDeviceAlreadyTracked(Conflict):
    """A second device is added at an address the host's pools already track."""

    code = "pci.pool.duplicate"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"PCI device {host}:{address} is already in the pools",
            hint="update or remove the tracked device instead of adding it again",
        )
        self.host = host
        self.address = address


# -- the control plane: databases, cells, services, scheduling ------------------


class DatabaseUrlInvalid(InvalidInput):
    """A database URL that SQLAlchemy cannot use."""

    code = "db.url.invalid"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"database URL {url!r} cannot be used: {problem}",
            hint="use an SQLAlchemy URL: sqlite:////path/file.sqlite, "
            "postgresql+psycopg://user:pass@host/db or mysql+pymysql://user:pass@host/db",
        )
        self.url = url


class DatabaseUnavailable(Unavailable):
    """A database does not answer, or refused the connection."""

    code = "db.unavailable"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"database {url} cannot be reached: {problem}",
            hint="check that the database server runs and the URL, user and password are right",
        )
        self.url = url
        self.problem = problem


class DatabaseSchemaOutdated(Unavailable):
    """A database's schema is older (or newer) than this offpath's."""

    code = "db.schema.outdated"

    def __init__(self, url: str, kind: str, found: str | None, wanted: str) -> None:
        state = "was never synced" if found is None else f"is at revision {found}"
        super().__init__(
            f"{kind} database {url} {state}; this offpath needs revision {wanted}",
            hint="run `offpath db sync` (with the same --config-file or --state-dir)",
        )
        self.url = url


class CellExists(Conflict):
    """A cell of that name is already registered."""

    code = "cell.exists"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"cell {name!r} already exists",
            hint="`offpath cell list` shows the cells; pick another --name",
        )
        self.name = name


class CellNotFound(NotFound):
    """No cell of that name or uuid."""

    code = "cell.not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"cell {name!r} not found", hint="`offpath cell list` shows the cells")
        self.name = name


class ForbiddenWithRemoteManagedPorts(InvalidInput):
    """A compute service somewhere is too old for remote-managed ports (Nova's message)."""

    code = "compute.remote_managed.upgrade_unfinished"

    def __init__(self, minimum: int, needed: int) -> None:
        super().__init__(
            "Remote-managed ports are not supported until an upgrade is fully finished.",
            hint=f"the oldest compute service reports version {minimum}, remote-managed ports "
            f"need {needed}: upgrade every `offpath agent` (`offpath service list` shows them)",
        )
        self.minimum = minimum
        self.needed = needed


class NoComputeServices(Unavailable):
    """No compute service is registered in any cell, so no version can be checked."""

    code = "compute.none_registered"

    def __init__(self) -> None:
        super().__init__(
            "no compute service is registered in any cell",
            hint="start `offpath agent` on the hosts (`offpath service list` shows what runs)",
        )


class NoValidHost(Conflict):
    """No host can serve a request; the message says why each was rejected (Nova's prefix)."""

    code = "scheduler.no_valid_host"

    def __init__(self, summary: str) -> None:
        super().__init__(
            f"No valid host was found. {summary}".rstrip(),
            hint="`offpath schedule explain` shows why each host was rejected",
        )
        self.summary = summary


class InstanceNotFound(NotFound):
    """No such instance (Nova's message)."""

    code = "instance.not_found"

    def __init__(self, instance_uuid: str) -> None:
        super().__init__(
            f"Instance {instance_uuid} could not be found.",
            hint="check the instance uuid; a deleted instance is gone for good",
        )
        self.instance_uuid = instance_uuid


class RpcTransportInvalid(InvalidInput):
    """A transport_url oslo.messaging cannot use."""

    code = "rpc.transport_url.invalid"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"transport_url {url!r} cannot be used: {problem}",
            hint="use rabbit://user:pass@host:5672/ for RabbitMQ, or fake:// in one process",
        )
        self.url = url


class OptionsConflict(InvalidInput):
    """Two command-line options that exclude each other were both given."""

    code = "cli.options.conflict"

    def __init__(self, first: str, second: str) -> None:
        super().__init__(
            f"{first} and {second} cannot be used together", hint=f"give {first} or {second}"
        )
        self.options = (first, second)


class RpcUnavailable(Unavailable):
    """The message queue of a transport_url cannot be reached, or refused offpath."""

    code = "rpc.unavailable"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"message queue {url} cannot be reached: {problem}",
            hint="check that RabbitMQ runs at [DEFAULT] transport_url and that its user, "
            "password and virtual host are right",
        )
        self.url = url
        self.problem = problem


class RpcTimeout(Unavailable):
    """No service answered an RPC call within its timeout."""

    code = "rpc.timeout"

    def __init__(self, topic: str, method: str, *, timeout: float, server: str | None) -> None:
        where = f"{topic} on {server}" if server else topic
        super().__init__(
            f"no answer from {where} to {method} within {timeout:g} s",
            hint=f"check that the {topic} service runs and uses the same transport_url "
            "(`offpath service list` shows which services are up)",
        )
        self.topic = topic
        self.method = method
        self.server = server


class RpcRemoteError(Unavailable):
    """The service an RPC call reached failed to carry it out."""

    code = "rpc.remote"

    def __init__(
        self, topic: str, method: str, *, error_type: str, detail: str, remote_code: str | None
    ) -> None:
        code = f" [{remote_code}]" if remote_code else ""
        super().__init__(
            f"{topic} failed {method}: {error_type}{code}: {detail}",
            hint=f"the {topic} service's log says more",
        )
        self.topic = topic
        self.method = method
        self.error_type = error_type
        self.remote_code = remote_code


class HostChangedConcurrently(Conflict):
    """Another transaction changed a host's devices between our read and our write."""

    code = "scheduler.host_changed"

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(
            f"host {host} changed while it was being claimed from: {detail}",
            hint="retry; the scheduler tries the alternates and then selects again",
        )
        self.host = host


class FlavorExtraSpecInvalid(InvalidInput):
    """A flavor extra spec whose value offpath cannot read."""

    code = "flavor.extra_spec.invalid"

    def __init__(self, flavor: str, key: str, value: str, expected: str) -> None:
        super().__init__(
            f"flavor {flavor!r}: extra spec {key}={value!r} is invalid",
            hint=f"{key} takes {expected}",
        )
        self.key = key


class PciRequestAliasNotDefined(InvalidInput):
    """A flavor names a PCI alias that `[pci] alias` does not define (Nova's message)."""

    code = "pci.alias.not_defined"

    def __init__(self, alias: str) -> None:
        super().__init__(
            f"PCI alias {alias} is not defined",
            hint="define it in the conductor's [pci] alias, or fix the flavor's "
            "pci_passthrough:alias",
        )
        self.alias = alias


class PortInUse(Conflict):
    """A requested port is bound to another instance (Nova's message)."""

    code = "port.in_use"

    def __init__(self, port_id: str) -> None:
        super().__init__(
            f"Port {port_id} is still in use.",
            hint="detach it from the server that uses it, or create another port",
        )
        self.port_id = port_id


class PortNotFound(NotFound):
    """A requested port does not exist (Neutron's message)."""

    code = "port.not_found"

    def __init__(self, port_id: str) -> None:
        super().__init__(
            f"Port {port_id} could not be found.", hint="check the port id in the request"
        )
        self.port_id = port_id


class NetworkNotFound(NotFound):
    """A port's network does not exist (Neutron's message)."""

    code = "network.not_found"

    def __init__(self, network_id: str) -> None:
        super().__init__(
            f"Network {network_id} could not be found.", hint="check the port's network_id"
        )
        self.network_id = network_id


class TransactionConflict(Conflict):
    """The database aborted a transaction that lost a race (a deadlock or serialization failure)."""

    code = "db.conflict"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"database {url} aborted a transaction that raced another: {problem}",
            hint="retry the request; nothing of the aborted transaction was kept",
        )
        self.url = url


class SimHostSpecInvalid(InvalidInput):
    """A ``--sim-host NAME=PROFILE[,key=value]...`` value offpath cannot read."""

    code = "sim.host_spec.invalid"

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(
            f"--sim-host {value!r}: {problem}",
            hint="write NAME=PROFILE[,cell=CELL][,service_version=N][,vfs=N], "
            "e.g. compute-dpu-01=bluefield2,vfs=4",
        )
        self.value = value


class ComputeHostNotFound(NotFound):
    """No cell has a compute service on that host (Nova's message)."""

    code = "compute.host_not_found"

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Compute host {host} could not be found.",
            hint="`offpath service list` shows the registered compute services",
        )
        self.host = host


KINDS: Final[tuple[type[OffpathError], ...]] = (
    InvalidInput,
    NotFound,
    Conflict,
    Unavailable,
    Unauthenticated,
    Forbidden,
)


def kind_of(error: type[OffpathError]) -> type[OffpathError]:
    """The kind class (one of KINDS) an error class belongs to; OffpathError when none."""
    return next((kind for kind in KINDS if issubclass(error, kind)), OffpathError)


# -- the network service and its Neutron client ----------------------------------


class NetworkRequestInvalid(InvalidInput):
    """A request to the network service (or a Neutron) is malformed; Neutron's message."""

    code = "network.request.invalid"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(
            message, hint=hint or "compare the request with Neutron's API reference (v2.0)"
        )


class SubnetNotFound(NotFound):
    """No such subnet (Neutron's message)."""

    code = "network.subnet.not_found"

    def __init__(self, subnet_id: str) -> None:
        super().__init__(
            f"Subnet {subnet_id} could not be found.", hint="check the subnet id in the request"
        )
        self.subnet_id = subnet_id


class ChassisNotFound(NotFound):
    """No chassis registered under that hostname."""

    code = "network.chassis.not_found"

    def __init__(self, hostname: str) -> None:
        super().__init__(
            f"Chassis {hostname} could not be found.",
            hint="a DPU registers its chassis at /network/offpath/chassis when it starts",
        )
        self.hostname = hostname


class MacAddressInUse(Conflict):
    """Another port of the network has that MAC address (Neutron's message)."""

    code = "network.port.mac_in_use"

    def __init__(self, network_id: str, mac: str) -> None:
        super().__init__(
            f"Unable to complete operation for network {network_id}. "
            f"The mac address {mac} is in use.",
            hint="leave mac_address out to get a generated one",
        )
        self.network_id = network_id
        self.mac = mac


class IpAddressInUse(Conflict):
    """Another port of the subnet holds that fixed IP (Neutron's message)."""

    code = "network.port.ip_in_use"

    def __init__(self, network_id: str, ip_address: str) -> None:
        super().__init__(
            f"Unable to complete operation for network {network_id}. "
            f"The IP address {ip_address} is in use.",
            hint="leave ip_address out of fixed_ips to get a free one",
        )
        self.network_id = network_id
        self.ip_address = ip_address


class IpAddressGenerationFailure(Conflict):
    """A subnet has no free address left (Neutron's message)."""

    code = "network.subnet.exhausted"

    def __init__(self, network_id: str) -> None:
        super().__init__(
            f"No more IP addresses available on network {network_id}.",
            hint="add a subnet to the network, or delete ports that are no longer used",
        )
        self.network_id = network_id


class NetworkInUse(Conflict):
    """A network still has ports (Neutron's message)."""

    code = "network.in_use"

    def __init__(self, network_id: str) -> None:
        super().__init__(
            f"Unable to complete operation on network {network_id}. "
            "There are one or more ports still in use on the network.",
            hint="delete the network's ports first",
        )
        self.network_id = network_id


class NetworkRequestConflict(Conflict):
    """A Neutron refused a request as conflicting with its state; Neutron's message."""

    code = "network.request.conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="read the port again and retry with its current state")


class NetworkServiceUnavailable(Unavailable):
    """The network service (or a Neutron) cannot be reached, or failed a request."""

    code = "network.unavailable"

    def __init__(self, endpoint: str, problem: str) -> None:
        super().__init__(
            f"network service at {endpoint}: {problem}",
            hint="check [neutron] endpoint and that the network service runs",
        )
        self.endpoint = endpoint
        self.problem = problem


class RequestBodyInvalid(InvalidInput):
    """An HTTP request's body or query does not follow the API's schema (Nova's wording)."""

    code = "api.request.invalid"

    def __init__(self, detail: str, *, hint: str = "") -> None:
        super().__init__(
            detail, hint=hint or "see the API reference, or /openapi.json, for the request's shape"
        )
        self.detail = detail


class ServerRequestInvalid(InvalidInput):
    """A server create names a flavor, image or network that cannot be used (Nova's messages)."""

    code = "server.request.invalid"

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)


class RequestedPortNotFound(InvalidInput):
    """A server create names a port that does not exist or is another project's (Nova's message)."""

    code = "server.port.not_found"

    def __init__(self, port_id: str) -> None:
        super().__init__(
            f"Port id {port_id} could not be found.",
            hint="create the port in your project first (`openstack port create`)",
        )
        self.port_id = port_id


class FlavorNotFound(NotFound):
    """No such flavor (Nova's message)."""

    code = "flavor.not_found"

    def __init__(self, flavor_id: str) -> None:
        super().__init__(
            f"Flavor {flavor_id} could not be found.",
            hint="`openstack flavor list` shows the flavors",
        )
        self.flavor_id = flavor_id


class FlavorExists(Conflict):
    """A flavor with that name or id exists already (Nova's messages)."""

    code = "flavor.exists"

    def __init__(self, *, name: str | None = None, flavor_id: str | None = None) -> None:
        what = f"name {name}" if name is not None else f"ID {flavor_id}"
        super().__init__(f"Flavor with {what} already exists.", hint="choose another name or id")


class FlavorExtraSpecNotFound(NotFound):
    """A flavor has no extra spec with that key (Nova's message)."""

    code = "flavor.extra_spec.not_found"

    def __init__(self, flavor_id: str, key: str) -> None:
        super().__init__(
            f"Flavor {flavor_id} has no extra specs with key {key}.",
            hint="`openstack flavor show` lists the flavor's properties",
        )
        self.key = key


class ImageNotFound(NotFound):
    """No such image (Glance's message)."""

    code = "image.not_found"

    def __init__(self, image_id: str) -> None:
        super().__init__(
            f"No image found with ID {image_id}", hint="`openstack image list` shows the images"
        )
        self.image_id = image_id


class ImageNotActive(Conflict):
    """An image's data cannot be uploaded again, or it has none yet (Glance's message)."""

    code = "image.status"

    def __init__(self, image_id: str, status: str) -> None:
        super().__init__(
            f"Image {image_id} is {status}: its data can be uploaded only while it is queued",
            hint="create another image for other data",
        )
        self.status = status


class InstanceActionNotFound(NotFound):
    """An instance has no action with that request id (Nova's message)."""

    code = "instance.action.not_found"

    def __init__(self, request_id: str, instance_uuid: str) -> None:
        super().__init__(
            f"Action for request_id {request_id} on instance {instance_uuid} not found",
            hint="the server's os-instance-actions list shows its request ids",
        )
        self.request_id = request_id


class NoInstancesForEvents(NotFound):
    """No event of an external-events batch names a server that can take it (Nova's message)."""

    code = "instance.events.none"

    def __init__(self) -> None:
        super().__init__(
            "No instances found for any event",
            hint="each event's server_uuid must name a server that has a host",
        )


class ImageExists(Conflict):
    """An image create names an id that is taken (Glance's message)."""

    code = "image.exists"

    def __init__(self, image_id: str) -> None:
        super().__init__(
            f"Image with identifier {image_id} already exists!",
            hint="leave the id out and let the service choose one",
        )
        self.image_id = image_id


class GuestInterfaceUnsupported(InvalidInput):
    """A port whose vnic type the agent cannot hand to a guest as a hostdev interface."""

    code = "compute.guest.vnic_type"

    def __init__(self, port_id: str, vnic_type: str) -> None:
        super().__init__(
            f"port {port_id}: vnic type {vnic_type} cannot be given to a guest by this agent",
            hint="boot with ports of vnic type remote-managed or direct",
        )
        self.port_id = port_id
        self.vnic_type = vnic_type


class PortBindingFailed(Conflict):
    """The network backend answered a bind with `binding_failed` (Nova's message)."""

    code = "port.binding_failed"

    def __init__(self, port_id: str, reason: str = "") -> None:
        said = f" The network service says: {reason}" if reason else ""
        super().__init__(
            f"Binding failed for port {port_id}, please check neutron logs for more "
            f"information.{said}",
            hint="for a remote-managed port: is the DPU's chassis registered with the card "
            "serial number, up, and its physnet mapped?",
        )
        self.port_id = port_id


class BuildAborted(Conflict):
    """The instance was deleted while its host was building it."""

    code = "compute.build.aborted"

    def __init__(self, instance_uuid: str) -> None:
        super().__init__(
            f"instance {instance_uuid} was deleted while it was being built",
            hint="nothing to do: what the build had done is undone",
        )
        self.instance_uuid = instance_uuid


class VifPlugFailed(Unavailable):
    """os-vif could not plug (or unplug) a VIF on the host."""

    code = "compute.vif.plug_failed"

    def __init__(self, port_id: str, plugin: str, problem: str) -> None:
        super().__init__(
            f"port {port_id}: os-vif plugin {plugin} failed: {problem}",
            hint="check the host side of the plugin (for ovs: is ovs-vswitchd running?)",
        )
        self.port_id = port_id
        self.plugin = plugin


class VirtualInterfaceCreateFailed(Unavailable):
    """A plug event did not come in time, or came as failed (Nova's message, and which)."""

    code = "compute.vif.create_failed"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"Virtual Interface creation failed: {problem}",
            hint="check the network backend's agent on this host; [DEFAULT] "
            "vif_plugging_timeout and vif_plugging_is_fatal decide how long to wait",
        )
        self.problem = problem


class GuestFailed(Unavailable):
    """libvirt refused to define, start or resume a guest."""

    code = "libvirt.guest.failed"

    def __init__(self, uri: str, instance_uuid: str, step: str, problem: str) -> None:
        super().__init__(
            f"libvirt at {uri}: cannot {step} the guest of instance {instance_uuid}: {problem}",
            hint="check libvirtd's log on the host ([libvirt] connection_uri)",
        )
        self.uri = uri
        self.instance_uuid = instance_uuid
        self.step = step


class ComputeHostDown(Unavailable):
    """The compute service of the host building an instance stopped reporting."""

    code = "compute.host_down"

    def __init__(self, host: str, *, down_for: int) -> None:
        super().__init__(
            f"the compute service on {host} went down while building the instance "
            f"(no heartbeat for more than {down_for} s)",
            hint="restart `offpath agent` on that host, then delete the server and boot again",
        )
        self.host = host


class ComputeHostRestarted(Unavailable):
    """The agent of the host building an instance restarted: the build it had begun is lost."""

    code = "compute.host_restarted"

    def __init__(self, host: str) -> None:
        super().__init__(
            f"the compute service on {host} restarted while building the instance",
            hint="delete the server and boot it again",
        )
        self.host = host


class CloudStartFailed(Unavailable):
    """A part of the embedded cloud (`offpath serve`) did not come up."""

    code = "serve.start_failed"

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(
            f"{part}: {problem}",
            hint="run with --verbose to see each part's log; check that the port is free",
        )
        self.part = part


class DemoFailed(Unavailable):
    """A step of `offpath demo` did not go as a cloud user would expect."""

    code = "demo.failed"

    def __init__(self, step: str, problem: str) -> None:
        super().__init__(f"{step}: {problem}", hint="run `offpath serve --verbose` to see why")


class OvnStartFailed(Unavailable):
    """A Northbound/Southbound ovsdb-server or ovn-northd that offpath starts did not come up."""

    code = "ovn.start_failed"

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(
            f"OVN {part}: {problem}",
            hint="install the Debian packages ovn-central, ovn-common and openvswitch-common "
            "(scripts/install-system-packages does), or name running servers in "
            "[ovn] ovn_nb_connection / ovn_sb_connection",
        )
        self.part = part


class OvnUnavailable(Unavailable):
    """OVN's Northbound or Southbound database did not answer in time."""

    code = "ovn.unavailable"

    def __init__(
        self, database: str, connection: str, problem: str, *, hint: str | None = None
    ) -> None:
        option = "ovn_nb_connection" if database == "Northbound" else "ovn_sb_connection"
        super().__init__(
            f"OVN {database} database at {connection}: {problem}",
            hint=hint
            or f"check that its ovsdb-server runs and listens there ([ovn] {option}); "
            "offpath reconnects on its own once it does",
        )
        self.database = database
        self.connection = connection
        self.problem = problem


class OvnNotConfigured(InvalidInput):
    """A command needs OVN, but the config names none and no `offpath serve --ovn` runs here."""

    code = "ovn.not_configured"

    def __init__(self, files: str, state_dir: str) -> None:
        super().__init__(
            f"no OVN to reach: [ovn] ovn_nb_connection is not set ({files}), and no "
            f"`offpath serve --ovn` keeps one in {state_dir} (no {state_dir}/ovn/nb.sock)",
            hint="name OVN's databases in [ovn] ovn_nb_connection and ovn_sb_connection, or "
            "pass the --state-dir of a running `offpath serve --ovn`",
        )
        self.state_dir = state_dir


# -- a port's bindings on several hosts (Neutron's binding-extended) ----------------


class PortBindingNotFound(NotFound):
    """A port has no binding for the host asked (Neutron's message)."""

    code = "network.port_binding.not_found"

    def __init__(self, port_id: str, host: str) -> None:
        super().__init__(
            f"Binding for port {port_id} for host {host} could not be found.",
            hint="list the port's bindings (GET /v2.0/ports/{port_id}/bindings)",
        )
        self.port_id = port_id
        self.host = host


class PortBindingAlreadyExists(Conflict):
    """A binding for that host is already there, active or inactive (Neutron's message)."""

    code = "network.port_binding.exists"

    def __init__(self, port_id: str, host: str) -> None:
        super().__init__(
            f"Binding for port {port_id} on host {host} already exists.",
            hint="delete that binding first, or activate the one there",
        )
        self.port_id = port_id
        self.host = host


class PortBindingAlreadyActive(Conflict):
    """The binding asked to be activated is the port's active one (Neutron's message)."""

    code = "network.port_binding.already_active"

    def __init__(self, port_id: str, host: str) -> None:
        super().__init__(
            f"Binding for port {port_id} on host {host} is already active.",
            hint="nothing to do: the port is bound to that host",
        )
        self.port_id = port_id
        self.host = host


class PortBindingError(Conflict):
    """No binding driver binds the port on that host (Neutron's message, and why)."""

    code = "network.port_binding.failed"

    def __init__(self, port_id: str, host: str, reason: str) -> None:
        super().__init__(
            f"Binding for port {port_id} on host {host} could not be created or updated."
            + (f" {reason}" if reason else ""),
            hint="for a remote-managed port: is the DPU's chassis with the profile's card "
            "serial number registered, alive, and mapping the network's physnet?",
        )
        self.port_id = port_id
        self.host = host
        self.reason = reason


class PortBindingActivationFailed(Conflict):
    """The network service refused to activate a port's binding (Nova's message)."""

    code = "port.binding_activation_failed"

    def __init__(self, port_id: str, host: str, reason: str = "") -> None:
        said = f" The network service says: {reason}" if reason else ""
        super().__init__(
            f"Failed to activate binding for port {port_id} and host {host}.{said}",
            hint="the port keeps its binding to the source host; list its bindings to see "
            "what is there",
        )
        self.port_id = port_id
        self.host = host


# -- server operations --------------------------------------------------------------


class InstanceInvalidState(Conflict):
    """An action the instance's current state does not allow (Nova's message)."""

    code = "instance.invalid_state"

    def __init__(self, action: str, instance_uuid: str, *, attr: str, state: str | None) -> None:
        super().__init__(
            f"Cannot '{action}' instance {instance_uuid} while it is in {attr} {state}",
            hint="wait until the server's task ends (its status shows it), then retry",
        )
        self.action = action
        self.instance_uuid = instance_uuid


class MoveNoValidHost(InvalidInput):
    """A move found no destination; the message says why each host was rejected."""

    code = "compute.move.no_valid_host"

    def __init__(self, summary: str) -> None:
        super().__init__(
            f"No valid host was found. {summary}".rstrip(),
            hint="`offpath schedule explain` shows why each host was rejected; free devices "
            "on another host or name one with --host",
        )
        self.summary = summary


class MigrationPreCheckError(InvalidInput):
    """A live migration refused before anything changed (Nova's message)."""

    code = "compute.migration.precheck"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Migration pre-check error: {reason}",
            hint="the reason names what to fix; nothing was changed",
        )
        self.reason = reason


class ComputeServiceInUse(InvalidInput):
    """Evacuate asked while the source host's compute service still runs (Nova's message)."""

    code = "compute.evacuate.source_up"

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Compute service of {host} is still in use.",
            hint="evacuate only a host whose compute service is down "
            "(`offpath service list`); use migrate for a running host",
        )
        self.host = host


class CannotResizeToSameFlavor(InvalidInput):
    """A resize to the flavor the server has (Nova's message)."""

    code = "compute.resize.same_flavor"

    def __init__(self) -> None:
        super().__init__(
            "When resizing, instances must change flavor!",
            hint="pick another flavor, or use migrate to move the server as it is",
        )


class MigrationNotFoundByStatus(NotFound):
    """No migration of the instance in the status an action needs (Nova's message)."""

    code = "compute.migration.not_found"

    def __init__(self, instance_uuid: str, status: str) -> None:
        super().__init__(
            f"Instance {instance_uuid} has no migration with status {status}",
            hint="`openstack server migration list --server ID` shows the server's migrations",
        )
        self.instance_uuid = instance_uuid
        self.status = status


class InterfaceAttachPciClaimFailed(InvalidInput):
    """No VF on the server's own host for an attached port (Nova's message, plus why)."""

    code = "compute.interface.pci_claim_failed"

    def __init__(self, instance_uuid: str, host: str, why: str) -> None:
        super().__init__(
            f"Failed to claim PCI device for {instance_uuid} during interface attach: "
            f"{why} on host {host}",
            hint="attach a port the host has a free VF for (`offpath inventory` on the host), "
            "or move the server to a host that has one",
        )
        self.instance_uuid = instance_uuid
        self.host = host


class InterfaceAttachFailed(Unavailable):
    """The host could not attach the port; everything it did was undone (Nova's message)."""

    code = "compute.interface.attach_failed"

    def __init__(self, instance_uuid: str, why: str) -> None:
        super().__init__(
            f"Failed to attach network adapter device to {instance_uuid}: {why}",
            hint="the port is unbound and its VF free again; the reason names what failed",
        )
        self.instance_uuid = instance_uuid


class PortNotAttached(NotFound):
    """Detaching a port the server does not have (Nova's message)."""

    code = "compute.interface.not_attached"

    def __init__(self, port_id: str, instance_uuid: str) -> None:
        super().__init__(
            f"Port {port_id} is not attached",
            hint=f"`openstack port list --server {instance_uuid}` lists the server's ports",
        )
        self.port_id = port_id


class MoveFailed(Unavailable):
    """A host could not do its part of a move; what was done is rolled back."""

    code = "compute.move.failed"

    def __init__(self, action: str, instance_uuid: str, host: str, why: str) -> None:
        super().__init__(
            f"{action} of {instance_uuid}: {host} failed: {why}",
            hint="the server is back where it was (its migration is in error); "
            "see the server's fault and the agent's log on the host",
        )
        self.instance_uuid = instance_uuid
        self.host = host


class ComputeServiceTooOld(Conflict):
    """A host's agent is too old for a step of a server operation."""

    code = "compute.service.too_old"

    def __init__(self, host: str, step: str, cap: str) -> None:
        super().__init__(
            f"the compute services speak compute RPC up to {cap}; {step} on {host} needs 1.3",
            hint="upgrade offpath on every compute host (`offpath service list` shows each "
            "service's version), then retry",
        )
        self.host = host
        self.step = step


class ServerOperationsUnavailable(Unavailable):
    """This API worker was built without a way to reach the hosts' agents."""

    code = "compute.operations.unavailable"

    def __init__(self) -> None:
        super().__init__(
            "server actions are not available: this API has no compute RPC to the hosts",
            hint="run the API through `offpath serve`, which wires the conductor and the agents",
        )


class StaleStep(Conflict):
    """A step sent to an agent process before it started (its queue kept the message)."""

    code = "compute.step.stale"

    def __init__(self, step: str, instance_uuid: str, *, sent: float, started: float) -> None:
        super().__init__(
            f"{step} of {instance_uuid} was sent {started - sent:.1f} s before this agent "
            "started: the conductor gave it up when the host went down, so it is not run",
            hint="nothing to do: the operation was rolled back; retry it if it is still wanted",
        )
        self.step = step
        self.instance_uuid = instance_uuid


class ServiceNotFound(NotFound):
    """No service of any cell has that id (Nova's message)."""

    code = "compute.service.not_found"

    def __init__(self, service_id: str) -> None:
        super().__init__(
            f"Service {service_id} could not be found.",
            hint="`openstack compute service list` shows every service and its id",
        )
        self.service_id = service_id


class ServiceUpdateInvalid(InvalidInput):
    """An update of a service that Nova's os-services refuses (its messages)."""

    code = "compute.service.update_invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(
            detail,
            hint="`openstack compute service set HOST offpath-compute --disable/--enable/"
            "--down/--up` sends a valid update",
        )
        self.detail = detail


# Keystone answers every failed authentication alike, so a guesser learns nothing.
KEYSTONE_UNAUTHENTICATED: Final = "The request you have made requires authentication."


class AuthenticationFailed(Unauthenticated):
    """A credential or token that does not authenticate; `reason` is for the log only."""

    code = "identity.auth.failed"

    def __init__(self, reason: str) -> None:
        super().__init__(
            KEYSTONE_UNAUTHENTICATED,
            hint="get a new token: `openstack token issue` with your password",
        )
        self.reason = reason


class ScopeRefused(Forbidden):
    """Authentication worked but the user has no role on the project asked (Keystone's 401)."""

    code = "identity.scope.refused"
    # Keystone answers a scope without a role assignment with 401, not 403.
    http_status = 401

    def __init__(self, project: str) -> None:
        super().__init__(
            f"User has no access to project {project}",
            hint="an admin grants a role: `offpath identity role add member --user U --project P`",
        )
        self.project = project


class TokenNotFound(NotFound):
    """A subject token that is not (or no longer) valid (Keystone's 404 on validation)."""

    code = "identity.token.not_found"

    def __init__(self, token: str) -> None:
        shown = token if len(token) <= 16 else f"{token[:16]}..."
        super().__init__(f"Could not find token: {shown}.", hint="the token expired or was revoked")


class IdentityNotFound(NotFound):
    """No domain, project, user or role by that name or id (Keystone's message)."""

    code = "identity.not_found"

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(
            f"Could not find {kind}: {name}.",
            hint="`offpath identity list` shows the users, projects and roles",
        )
        self.kind = kind
        self.name = name


class IdentityConflict(Conflict):
    """A name already taken in its domain (Keystone's message)."""

    code = "identity.conflict"

    def __init__(self, kind: str, name: str, domain_id: str) -> None:
        super().__init__(
            f"Conflict occurred attempting to store {kind} - Duplicate entry found with name "
            f"{name} at domain ID {domain_id}.",
            hint=f"choose another name, or use the existing {kind}",
        )


class IdentityInvalid(InvalidInput):
    """A name, password or authentication request that Keystone would refuse."""

    code = "identity.invalid"

    def __init__(self, detail: str, *, hint: str = "") -> None:
        super().__init__(detail, hint=hint or "see `offpath identity --help`")
        self.detail = detail


class IdentityUnavailable(Unavailable):
    """The identity service a service user logs in to cannot be reached or failed."""

    code = "identity.unavailable"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(
            f"identity service at {url}: {problem}",
            hint="check [service_user] auth_url and that `offpath serve` runs",
        )
        self.url = url
        self.problem = problem


class PolicyFileInvalid(InvalidInput):
    """The operator's policy file cannot be read, or one of its rules is wrong."""

    code = "policy.file.invalid"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"policy file {path}: {problem}",
            hint='each line is "<rule name>": "<check>" as in Nova\'s and Neutron\'s '
            "policy.yaml; docs/policy.md lists the rules and their defaults",
        )
        self.path = path
        self.problem = problem


class TokenInspectionForbidden(Forbidden):
    """Another user's token, looked at or revoked by neither an admin nor a service."""

    code = "identity.token.forbidden"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"You are not authorized to perform the requested action: {action}.",
            hint="only a token's own user, an admin or a service may inspect or revoke it",
        )
        self.action = action


class ImageProtected(Forbidden):
    """A protected image cannot be deleted (Glance's 403 and message)."""

    code = "image.protected"

    def __init__(self, image_id: str) -> None:
        super().__init__(
            f"Image {image_id} is protected and cannot be deleted.",
            hint='unprotect it first: PATCH [{"op": "replace", "path": "/protected", '
            '"value": false}] (`openstack image set --unprotected`)',
        )
        self.image_id = image_id


# -- server metadata ------------------------------------------------------------------


class MetadataItemNotFound(NotFound):
    """A server has no metadata item with that key (Nova's message)."""

    code = "instance.metadata.not_found"

    def __init__(self, instance_uuid: str, key: str) -> None:
        super().__init__(
            "Metadata item was not found",
            hint=f"GET /servers/{instance_uuid}/metadata lists the server's keys",
        )
        self.instance_uuid = instance_uuid
        self.key = key


class MetadataLimitExceeded(Forbidden):
    """A server's metadata would hold more items than allowed (Nova's quota message)."""

    code = "instance.metadata.limit"

    def __init__(self, allowed: int) -> None:
        super().__init__(
            f"Maximum number of metadata items exceeds {allowed}",
            hint=f"keep at most {allowed} metadata items on a server",
        )
        self.allowed = allowed


# -- key pairs --------------------------------------------------------------------------


class KeypairInvalid(InvalidInput):
    """A key pair's public key or certificate cannot be read (Nova's message)."""

    code = "compute.keypair.invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Keypair data is invalid: {reason}",
            hint="give an OpenSSH public key line (ssh-rsa, ssh-ed25519, ecdsa-sha2-...) "
            "or, for type x509, a PEM certificate; or omit it to have a key pair generated",
        )
        self.reason = reason


class KeypairNotFound(NotFound):
    """The user has no key pair of that name (Nova's message)."""

    code = "compute.keypair.not_found"

    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(
            f"Keypair {name} not found for user {user_id}",
            hint="`openstack keypair list` shows your key pairs",
        )
        self.name = name
        self.user_id = user_id


class KeypairExists(Conflict):
    """The user has a key pair of that name already (Nova's message)."""

    code = "compute.keypair.exists"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Key pair '{name}' already exists.", hint="choose another name, or delete the old one"
        )
        self.name = name


# -- security groups (Neutron's messages on the network API, Nova's on the compute API) -


class SecurityGroupRuleInvalid(InvalidInput):
    """A security group rule Neutron refuses: a bad protocol, port, ethertype or prefix."""

    code = "network.security_group_rule.invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="see Neutron's security group rule attributes")


class SecurityGroupNotFound(NotFound):
    """No such security group, or another project's (Neutron's message)."""

    code = "network.security_group.not_found"

    def __init__(self, group_id: str) -> None:
        super().__init__(
            f"Security group {group_id} does not exist", hint="list the project's security groups"
        )
        self.group_id = group_id


class SecurityGroupRuleNotFound(NotFound):
    """No such security group rule, or another project's (Neutron's message)."""

    code = "network.security_group_rule.not_found"

    def __init__(self, rule_id: str) -> None:
        super().__init__(
            f"Security group rule {rule_id} does not exist",
            hint="list the group's rules: GET /v2.0/security-group-rules?security_group_id=...",
        )
        self.rule_id = rule_id


class SecurityGroupInUse(Conflict):
    """A port still uses the security group (Neutron's message)."""

    code = "network.security_group.in_use"

    def __init__(self, group_id: str) -> None:
        super().__init__(
            f"Security Group {group_id} in use.",
            hint="take the group off its ports (or delete them) first",
        )
        self.group_id = group_id


class SecurityGroupRuleExists(Conflict):
    """The group has a rule with the same match already (Neutron's message)."""

    code = "network.security_group_rule.exists"

    def __init__(self, rule_id: str) -> None:
        super().__init__(
            f"Security group rule already exists. Rule id is {rule_id}.",
            hint="the existing rule admits the same traffic",
        )
        self.rule_id = rule_id


class SecurityGroupDefaultAlreadyExists(Conflict):
    """A second group named `default` (Neutron's message)."""

    code = "network.security_group.default_exists"

    def __init__(self) -> None:
        super().__init__(
            "Default security group already exists.",
            hint="each project has one `default` group; choose another name",
        )


class SecurityGroupCannotUpdateDefault(Conflict):
    """The `default` group is not renamed (Neutron's message)."""

    code = "network.security_group.default_update"

    def __init__(self) -> None:
        super().__init__(
            "Updating default security group not allowed.",
            hint="change its description or rules, not its name",
        )


class SecurityGroupCannotRemoveDefault(Conflict):
    """Only the admin deletes a project's `default` group (Neutron's message)."""

    code = "network.security_group.default_remove"

    def __init__(self) -> None:
        super().__init__(
            "Insufficient rights for removing default security group.",
            hint="an admin may delete it; it comes back on the project's next use",
        )


class ComputeSecurityGroupNotFound(NotFound):
    """A server action names a security group the project does not have (Nova's message)."""

    code = "compute.security_group.not_found"

    def __init__(self, name: str, project_id: str) -> None:
        super().__init__(
            f"Security group {name} is not found for project {project_id}",
            hint="name one of the project's security groups (by name or id)",
        )
        self.name = name


class SecurityGroupNotAssociated(InvalidInput):
    """Removing a security group none of the server's ports has (Nova's message)."""

    code = "compute.security_group.not_associated"

    def __init__(self, name: str, server_id: str) -> None:
        super().__init__(
            f"Security group {name} not associated with the instance {server_id}",
            hint="the server's security_groups lists the groups it has",
        )
        self.name = name


class SecurityGroupNotFoundForBoot(InvalidInput):
    """A server create names a security group the project does not have (Nova's 400)."""

    code = "compute.security_group.boot_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Security group {name} not found.",
            hint="create it first, or name one of the project's groups",
        )
        self.name = name


class SecurityGroupNameAmbiguous(Conflict):
    """A server create or action names a group by a name several of the project's groups have."""

    code = "compute.security_group.ambiguous"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Multiple security_group matches found for name '{name}', "
            "use an ID to be more specific.",
            hint="`openstack security group list` shows each group's id",
        )
        self.name = name
