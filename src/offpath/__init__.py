"""offpath: a control plane for VMs whose SR-IOV NICs are managed by a DPU."""

__version__ = "0.1.0"
