"""Discovery: the PCI functions of a host as PciDevice records, from sysfs or libvirt XML."""
