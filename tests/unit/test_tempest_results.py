"""`make tempest`'s reading of a run: subunit2csv rows to outcomes per module, and the table."""

from __future__ import annotations

import pytest

from offpath_tempest.results import count_by_module, module_of, read_csv, table

CSV = (
    "test,status,start_time,stop_time\n"
    '"tempest.api.compute.test_versions.TestVersions.test_list[id-1,smoke]",success,a,b\n'
    '"tempest.api.compute.test_versions.TestVersions.test_get[id-2]",failure,a,b\n'
    '"tempest.api.image.v2.test_images.ImagesTest.test_x[id-3]",skip,a,b\n'
    '"setUpClass (tempest.api.image.v2.test_images.OtherTest)",fail,a,b\n'
    '"tempest.api.image.v2.test_images.ImagesTest.test_y[id-4]",exists,a,b\n'
)


@pytest.mark.parametrize(
    ("test_id", "module"),
    [
        pytest.param(
            "tempest.api.a.test_b.C.test_d[id-1,smoke]", "tempest.api.a.test_b", id="test"
        ),
        pytest.param("setUpClass (tempest.api.a.test_b.C)", "tempest.api.a.test_b", id="fixture"),
    ],
)
def test_a_test_or_class_fixture_belongs_to_its_module(test_id: str, module: str) -> None:
    assert module_of(test_id) == module


def test_outcomes_are_counted_per_module_and_totalled() -> None:
    outcomes = read_csv(CSV)
    assert [o.test for o in outcomes][:2] == [
        "tempest.api.compute.test_versions.TestVersions.test_list",
        "tempest.api.compute.test_versions.TestVersions.test_get",
    ]
    counts = count_by_module(outcomes)
    assert {m: dict(c) for m, c in counts.items()} == {
        "tempest.api.compute.test_versions": {"passed": 1, "failed": 1},
        "tempest.api.image.v2.test_images": {"skipped": 1, "failed": 1},
    }
    rows = table(counts).splitlines()
    assert rows[0].split() == ["module", "passed", "failed", "skipped"]
    assert rows[-1].split() == ["total", "1", "2", "1"]
