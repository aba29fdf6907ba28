"""The Nova-shaped compute API under /compute/v2.1."""
