"""Two API workers over the same PostgreSQL databases serve the same servers, flavors and images."""

from __future__ import annotations

from pathlib import Path

from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.sim.fleet import fleet_reports
from tests.api.world import world_of
from tests.control.cluster import Cluster
from tests.control.conftest import deployment


def test_two_workers_on_postgresql_serve_the_same_state(tmp_path: Path) -> None:
    with deployment("postgresql", tmp_path) as (config, first_cluster):
        first_cluster.report(fleet_reports(2, vfs=4))
        cells = CellDatabases(open_engine(config.api_database_url))
        try:
            # The second worker shares only the databases (and the network service).
            second_cluster = Cluster(cells, ports=first_cluster.ports, seed=2)
            first, second = world_of(first_cluster), world_of(second_cluster)
            one, two = first.client(), second.client()
            image = one.post("/image/v2/images", json={"name": "img"}).json()["id"]
            one.put(f"/image/v2/images/{image}/file", content=b"data")
            flavor = two.post(
                "/compute/v2.1/flavors",
                json={"flavor": {"name": "m1", "ram": 512, "vcpus": 1, "disk": 0}},
            ).json()["flavor"]["id"]
            created = one.post(
                "/compute/v2.1/servers",
                json={
                    "server": {
                        "name": "vm",
                        "flavorRef": flavor,
                        "imageRef": image,
                        "networks": [{"port": first.port()}],
                    }
                },
            )
            assert created.status_code == 202
            server_id = created.json()["server"]["id"]
            seen = [
                client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]
                for client in (one, two)
            ]
            assert seen[0]["OS-EXT-SRV-ATTR:host"] == seen[1]["OS-EXT-SRV-ATTR:host"]
            assert seen[0]["image"]["id"] == seen[1]["image"]["id"] == image
            listed = [
                [s["id"] for s in client.get("/compute/v2.1/servers").json()["servers"]]
                for client in (one, two)
            ]
            assert listed == [[server_id], [server_id]]
            hosts = [
                sorted(
                    (h["host"], h["free_devices"])
                    for h in c.get("/offpath/v1/hosts").json()["hosts"]
                )
                for c in (one, two)
            ]
            assert hosts[0] == hosts[1]
            assert sum(free for _, free in hosts[0]) == 2 * 10 - 2  # one VF and its PF taken
            assert two.delete(f"/compute/v2.1/servers/{server_id}").status_code == 204
            assert one.get(f"/compute/v2.1/servers/{server_id}").status_code == 404
        finally:
            cells.dispose()
