"""The per-host agent side: discovery through the hypervisor, inventory, plugging."""
