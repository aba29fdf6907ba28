"""The operator's policy file: its overrides change outcomes; a bad one is refused by name."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from offpath.api.policies import RULES
from offpath.api.policies.table import rules_table
from offpath.api.policy import load_policy
from offpath.errors import PolicyFileInvalid
from offpath.sim.fleet import fleet_reports
from tests.api.world import world_of
from tests.control.cluster import Cluster

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
BEGIN, END = "<!-- rules: begin -->\n", "<!-- rules: end -->\n"


def _config(tmp_path: Path, policy: str | None) -> Path:
    conf = tmp_path / "offpath.conf"
    conf.write_text("[DEFAULT]\n", encoding="utf-8")
    if policy is not None:
        (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    return conf


def test_an_override_next_to_the_config_makes_a_members_create_forbidden(
    cluster: Cluster, tmp_path: Path
) -> None:
    conf = _config(tmp_path, '"os_compute_api:servers:create": "role:admin"\n')
    world = world_of(cluster, policy=load_policy([conf]))
    world.cluster.report(fleet_reports(1, vfs=2))
    body = {
        "server": {"name": "vm", "flavorRef": world.flavor(), "networks": [{"port": world.port()}]}
    }
    member = world.client(roles="member,reader").post("/compute/v2.1/servers", json=body)
    assert member.status_code == 403
    assert member.json()["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:servers:create to be performed."
    )
    admin = world.client(roles="admin,member,reader").post("/compute/v2.1/servers", json=body)
    assert admin.status_code == 202


def test_policy_file_option_names_another_file(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text('"get_port": "role:admin"\n', encoding="utf-8")
    conf = tmp_path / "offpath.conf"
    conf.write_text("[oslo_policy]\npolicy_file = strict.yaml\n", encoding="utf-8")
    assert load_policy([conf]).policy_path == str(tmp_path / "strict.yaml")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("x: [1\n", "not a YAML mapping of rule names to checks", id="not-yaml"),
        pytest.param("- a\n", "not a YAML mapping of rule names to checks", id="a-list"),
        pytest.param(
            '"get_port": "role:admin or (("\n',
            "rule 'get_port': cannot read the check 'role:admin or (('",
            id="unreadable-check",
        ),
        pytest.param(
            '"get_port": "rule:no_such_rule"\n',
            "rule 'get_port': refers to a rule that is not defined, or to itself",
            id="undefined-rule",
        ),
        pytest.param('"get_port": 3\n', "rule 'get_port': the check must be a string", id="int"),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_file_and_rule(
    tmp_path: Path, content: str, problem: str
) -> None:
    conf = _config(tmp_path, content)
    with pytest.raises(PolicyFileInvalid) as raised:
        load_policy([conf])
    assert raised.value.message == f"policy file {tmp_path / 'policy.yaml'}: {problem}"


def test_no_policy_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_policy([_config(tmp_path, None)]).policy_path is None


def test_every_rule_name_is_registered_once() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))


def test_the_doc_lists_every_rule_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN)
    _table, after = rest.split(END)
    if os.environ.get("OFFPATH_UPDATE_GOLDEN"):
        DOC.write_text(before + BEGIN + rules_table() + END + after, encoding="utf-8")
        return
    assert _table == rules_table(), "regenerate: OFFPATH_UPDATE_GOLDEN=1 pytest " + __file__
    assert re.search(r"\bpolicy_file\b", before)
