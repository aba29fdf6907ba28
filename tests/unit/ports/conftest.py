"""Shared setup of the port tests."""

# os-vif's dependencies warn about eventlet when first imported; offpath's
# module imports it with those warnings silenced, so it goes first.
import offpath.ports.osvif  # noqa: F401
