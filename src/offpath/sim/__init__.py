"""The host & DPU simulator: writes real-layout sysfs trees (with binary VPD), plays the DPU side.

Everything here produces inputs for the pure readers in `offpath.pci`; nothing
in `offpath.pci` or `offpath.ports` imports it.
"""
