"""Binding drivers: the simulated DPU (`dpu-sim`) and SR-IOV NIC ports (`sriov-nic`)."""
