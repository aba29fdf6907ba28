"""HTTP: the Nova-shaped compute API, the Neutron-shaped network API, image, identity, admin."""
