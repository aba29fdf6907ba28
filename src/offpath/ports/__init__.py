"""The pure port domain: vnic types, PCI requests from ports, binding profiles, os-vif, events.

No network or database I/O happens here: ports, networks and VIFs come in
as records, and what to send or wait for goes out as records.
"""
