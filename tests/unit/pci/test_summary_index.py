"""The per-shape count matrices answer as `SummaryCatalog.support`, and follow claims in place."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest
from offpath.pci.summary import SummaryCatalog
from offpath.pci.summary_index import SummaryIndex
from offpath.pci.weigher import pci_weight
from tests.unit.pci.test_summary import PF_ANY, PF_OR_VF, RM, VF_ANY, host

REQUESTS = st.sampled_from(
    [
        [RM],
        [PciRequest(2, RM.spec, "rm2")],
        [PciRequest(3, RM.spec, "rm3")],
        [VF_ANY],
        [PF_ANY],
        [PF_OR_VF],
        [RM, RM],
        [VF_ANY, PF_ANY],
    ]
)
HOSTS = st.lists(
    st.builds(
        host,
        rm_vfs=st.integers(0, 3),
        plain_vfs=st.integers(0, 2),
        pf1=st.booleans(),
        taken=st.integers(0, 1),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    pools=HOSTS,
    requests=REQUESTS,
    claims=st.lists(st.tuples(st.integers(0, 11), REQUESTS), max_size=6),
)
def test_the_index_answers_as_support_through_claims(
    pools: list[PciPools], requests: list[PciRequest], claims: list[tuple[int, list[PciRequest]]]
) -> None:
    catalog = SummaryCatalog()
    summaries = {f"h{i}": catalog.summarize(p) for i, p in enumerate(pools)}
    index = SummaryIndex(catalog)
    for name, summary in summaries.items():
        index.put(name, summary)
    compiled = catalog.compile(requests)
    for which, taken in claims:
        name = f"h{which % len(pools)}"
        if catalog.apply(summaries[name], catalog.compile(taken)):
            index.put(name, summaries[name])
    expected = {name for name, s in summaries.items() if catalog.support(s, compiled)}
    assert set(index.hosts_supporting(compiled)) == expected


def test_a_host_that_changes_shape_moves_and_the_others_stay() -> None:
    catalog = SummaryCatalog()
    index = SummaryIndex(catalog)
    index.put("a", catalog.summarize(host()))
    index.put("b", catalog.summarize(host()))
    index.put("a", catalog.summarize(host(pf1=False, rm_vfs=0)))
    assert (len(index), sorted(index.hosts_supporting(catalog.compile([RM])))) == (2, ["b"])


def test_a_removed_host_is_no_candidate() -> None:
    catalog = SummaryCatalog()
    index = SummaryIndex(catalog)
    for name in ("a", "b", "c"):
        index.put(name, catalog.summarize(host()))
    index.remove("a")
    index.remove("missing")
    assert (sorted(index.hosts_supporting(catalog.compile([RM]))), "a" in index) == (
        ["b", "c"],
        False,
    )


def test_the_matrix_grows_past_its_first_rows() -> None:
    catalog = SummaryCatalog()
    index = SummaryIndex(catalog)
    for number in range(200):
        index.put(f"h{number}", catalog.summarize(host(rm_vfs=number % 2)))
    assert len(index.hosts_supporting(catalog.compile([RM]))) == 100


@settings(max_examples=60, deadline=None)
@given(pools=HOSTS, how_many=st.integers(0, 5), seed=st.integers(0, 1000))
def test_the_best_are_the_heaviest_candidates_best_first(
    pools: list[PciPools], how_many: int, seed: int
) -> None:
    catalog = SummaryCatalog()
    summaries = {f"h{i}": catalog.summarize(p) for i, p in enumerate(pools)}
    index = SummaryIndex(catalog)
    for name, summary in summaries.items():
        index.put(name, summary)
    compiled = catalog.compile([RM])
    candidates = index.scan(compiled)
    best = candidates.best(how_many, random.Random(seed))
    weight = {name: pci_weight(summaries[name].free_count) for name in candidates}
    expected = sorted(weight.values(), reverse=True)[:how_many]
    assert (len(set(best)), [weight[name] for name in best]) == (len(expected), expected)


def test_equal_weights_are_drawn_at_random() -> None:
    catalog = SummaryCatalog()
    index = SummaryIndex(catalog)
    for number in range(6):
        index.put(f"h{number}", catalog.summarize(host()))
    rng = random.Random(7)
    compiled = catalog.compile([RM])
    firsts = {index.scan(compiled).best(1, rng)[0] for _ in range(200)}
    assert firsts == {f"h{number}" for number in range(6)}
