"""The pure PCI core: addresses, device specs, aliases, VPD, devices, pools.

No network or database I/O happens here; readers take a root directory.
"""
