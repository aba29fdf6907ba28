"""HTTP: the Nova-shaped compute API, the Neutron-shaped network API, identity, admin."""
