"""The OpenStack-compatible HTTP API: compute, image, identity discovery, and offpath's own."""
