"""Nova's side of bench/pools.py: run inside bench/.nova-venv, never by offpath itself.

Usage: nova_pools_runner.py INPUT.json OUTPUT.json

Reads the inventory that bench/pools.py wrote, builds Nova's own
`nova.pci.stats.PciDeviceStats` from it exactly as Nova does (compute side:
PciDevice objects against `[pci] device_spec`; scheduler side: one stats
object per host from the compute side's pool list), times
`support_requests` over every host and `consume_requests` on one host, and
writes the answers and timings as JSON. Nova is used as a black box.
"""

from __future__ import annotations

import copy
import gc
import importlib
import json
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

USAGE = "usage: nova_pools_runner.py INPUT.json OUTPUT.json (run by bench/pools.py --against-nova)"


def _nova() -> tuple[Any, Any, Any, Any]:
    """Nova's config, objects, stats and whitelist modules (imported dynamically: no stubs)."""
    warnings.simplefilter("ignore")
    conf = importlib.import_module("nova.conf").CONF
    objects = importlib.import_module("nova.objects")
    objects.register_all()
    stats = importlib.import_module("nova.pci.stats")
    whitelist = importlib.import_module("nova.pci.whitelist")
    return conf, objects, stats, whitelist


def _devices(objects: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """PciDevice objects, with the in-memory PF/VF links Nova's claims follow."""
    built: dict[str, Any] = {}
    for row in rows:
        extra: dict[str, str] = {}
        if row.get("card_serial_number"):
            vpd = {"vpd": {"card_serial_number": row["card_serial_number"]}}
            extra["capabilities"] = json.dumps(vpd)
        built[row["address"]] = objects.PciDevice(
            compute_node_id=1,
            address=row["address"],
            vendor_id=row["vendor_id"],
            product_id=row["product_id"],
            dev_type=row["dev_type"],
            status="available",
            numa_node=row["numa_node"],
            parent_addr=row.get("parent_addr"),
            request_id=None,
            instance_uuid=None,
            extra_info=extra,
        )
    for device in built.values():
        parent = built.get(device.parent_addr) if device.parent_addr else None
        if parent is not None:
            device.parent_device = parent
            parent.child_devices.append(device)
    return list(built.values())


def _request(objects: Any, row: dict[str, Any]) -> Any:
    return objects.InstancePCIRequest(
        count=row["count"],
        spec=row["spec"],
        request_id=row["request_id"],
        alias_name=row.get("alias_name"),
    )


def run(data: dict[str, Any]) -> dict[str, Any]:
    """Every measurement bench/pools.py asks for."""
    conf, objects, stats_module, whitelist = _nova()
    conf.set_override("device_spec", data["device_spec"], group="pci")
    dev_filter = whitelist.Whitelist(conf.pci.device_spec)
    stats_class = stats_module.PciDeviceStats

    compute_side = []
    pool_lists = []
    for variant in data["variants"]:
        stats = stats_class(None, dev_filter=dev_filter)
        for device in _devices(objects, variant["devices"]):
            stats.add_device(device)
        compute_side.append(stats)
        pool_lists.append(stats.to_device_pools_obj())

    request = _request(objects, data["request"])
    hosts = data["hosts"]
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.take_snapshot()
    scheduler_side = [stats_class(None, pool_lists[v], dev_filter=dev_filter) for v in hosts]
    end = tracemalloc.take_snapshot()
    tracemalloc.stop()
    memory = sum(stat.size_diff for stat in end.compare_to(start, "filename"))

    began = time.perf_counter()
    answers = [stats.support_requests([request], None) for stats in scheduler_side]
    support_seconds = time.perf_counter() - began

    consume_seconds = []
    for _ in range(data["consume_repeats"]):
        fresh = copy.deepcopy(compute_side[0])
        began = time.perf_counter()
        taken = fresh.consume_requests([request])
        consume_seconds.append(time.perf_counter() - began)
        if not taken:
            raise SystemExit("nova: consume on host 0 took nothing")

    return {
        "nova_version": importlib.import_module("importlib.metadata").version("nova"),
        "answers": "".join("1" if answer else "0" for answer in answers),
        "support_seconds": support_seconds,
        "consume_seconds": statistics.median(consume_seconds),
        "memory_bytes": memory,
        "pools_per_variant": [len(list(stats)) for stats in compute_side],
    }


def main(argv: list[str]) -> int:
    """Read INPUT, measure, write OUTPUT; without arguments, say what this script is for."""
    if len(argv) != 2:
        print(USAGE)
        return 0
    source, target = (Path(arg) for arg in argv)
    result = run(json.loads(source.read_text()))
    target.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
