"""The embedded Neutron-shaped network service, its binding drivers, and a Neutron client.

The service keeps every record in the API database so that any API worker
serves any request; binding drivers decide how a port is bound (the
simulated DPU, later a real OVN); the client is how compute and conductor
reach this service, or a real Neutron, over HTTP.
"""
