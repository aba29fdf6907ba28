"""The one-process cloud of `offpath serve` and `offpath demo`: simulated hosts and DPUs."""
