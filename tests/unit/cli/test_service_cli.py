"""`offpath service list` over the cells' databases, and the agent's option checks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from offpath.cli.main import app
from offpath.db.bootstrap import sync_all
from offpath.db.cell_schema import ServiceRow
from offpath.db.columns import utcnow
from offpath.db.engine import open_engine, writing
from offpath.db.services import register_service
from offpath.service_config import load_service_config
from offpath.version import COMPUTE_BINARY

runner = CliRunner()


def deployment(tmp_path: Path) -> Path:
    conf = tmp_path / "nova.conf"
    conf.write_text(
        "[DEFAULT]\nservice_down_time = 30\n"
        f"[api_database]\nconnection = sqlite:///{tmp_path / 'api.sqlite'}\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'cell1.sqlite'}\n"
    )
    sync_all(load_service_config([conf], state_dir=tmp_path))
    engine = open_engine(f"sqlite:///{tmp_path / 'cell1.sqlite'}")
    try:
        with writing(engine) as session:
            for host in ("dpu-a", "dpu-b"):
                register_service(
                    session, host=host, binary=COMPUTE_BINARY, topic="compute", version=2
                )
            session.execute(
                update(ServiceRow)
                .where(ServiceRow.host == "dpu-b")
                .values(last_seen_up=utcnow() - timedelta(minutes=5))
            )
    finally:
        engine.dispose()
    return conf


def test_service_list_shows_each_service_up_or_down(tmp_path: Path) -> None:
    conf = deployment(tmp_path)
    result = runner.invoke(app, ["service", "list", "--json", "--config-file", str(conf)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["host"], r["cell"], r["version"], r["state"]) for r in rows] == [
        ("dpu-a", "cell1", 2, "up"),
        ("dpu-b", "cell1", 2, "down"),
    ]


def test_service_list_as_a_table_names_every_host(tmp_path: Path) -> None:
    conf = deployment(tmp_path)
    result = runner.invoke(app, ["service", "list", "--config-file", str(conf)])
    assert result.exit_code == 0, result.output
    assert "dpu-a" in result.stdout
    assert "dpu-b" in result.stdout


def test_the_agent_refuses_two_device_sources(tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\nhost = dpu1\n")
    result = subprocess.run(
        [
            *(sys.executable, "-c", "from offpath.cli.main import run; run()", "agent"),
            *("--config-file", str(conf), "--sysfs-root", str(tmp_path)),
            *("--libvirt-uri", "test:///default"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error [cli.options.conflict]: --sysfs-root and --libvirt-uri cannot be used together"
    )
