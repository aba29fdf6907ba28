"""A Tempest run's outcome per module: read from stestr's subunit stream, printed as a table."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

# `setUpClass (tempest.api....Class)`: a class fixture that failed counts for its module.
_FIXTURE: Final = re.compile(r"^\w+ \((?P<cls>[\w.]+)\)$")
_ATTRS: Final = re.compile(r"\[.*\]$")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_OUTCOMES: Final = {
    "success": PASSED,
    "xfail": PASSED,
    "fail": FAILED,
    "failure": FAILED,
    "uxsuccess": FAILED,
    "skip": SKIPPED,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One test's id (without its attributes), module and outcome."""

    test: str
    module: str
    outcome: str


def module_of(test_id: str) -> str:
    """`tempest.api.compute.servers.test_servers` from a test id or a class fixture's id."""
    fixture = _FIXTURE.match(test_id)
    name = fixture.group("cls") if fixture else _ATTRS.sub("", test_id).rsplit(".", 1)[0]
    # What is left is module.Class: drop the class.
    return name.rsplit(".", 1)[0]


def read_csv(text: str) -> list[Outcome]:
    """The outcomes in subunit2csv's output (test, status, start_time, stop_time)."""
    outcomes = []
    for row in csv.DictReader(io.StringIO(text)):
        status = _OUTCOMES.get(row["status"])
        if status is None:
            # "exists"/"inprogress": not an outcome.
            continue
        test = _ATTRS.sub("", row["test"])
        outcomes.append(Outcome(test, module_of(row["test"]), status))
    return outcomes


def count_by_module(outcomes: Iterable[Outcome]) -> dict[str, Counter[str]]:
    """Passed, failed and skipped counts per module, modules sorted."""
    counts: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        counts.setdefault(outcome.module, Counter())[outcome.outcome] += 1
    return dict(sorted(counts.items()))


def table(counts: Mapping[str, Counter[str]]) -> str:
    """A plain-text table: one row per module, then the totals."""
    width = max([len("module"), *(len(m) for m in counts)])
    total: Counter[str] = Counter()
    lines = [f"{'module':<{width}}  {PASSED:>6}  {FAILED:>6}  {SKIPPED:>7}"]
    for module, count in counts.items():
        total.update(count)
        lines.append(
            f"{module:<{width}}  {count[PASSED]:>6}  {count[FAILED]:>6}  {count[SKIPPED]:>7}"
        )
    lines.append(f"{'total':<{width}}  {total[PASSED]:>6}  {total[FAILED]:>6}  {total[SKIPPED]:>7}")
    return "\n".join(lines)
