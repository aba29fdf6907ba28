"""Many hosts' summaries as one count matrix per shape, to scan 100,000 hosts in numpy.

Hosts with the same shape (the same pool keys) share a 2-D array: one row
per pool position, one column per host, so the counts of one pool over
every host are contiguous. A single request whose plan is a plain sum
(`_Plan.fast`) is answered for a whole shape at once by summing its rows;
anything else (several requests, PF/VF overlap, placement providers) asks
`SummaryCatalog.support` host by host, so every answer is the catalog's. A
scan answers with host positions, not names: choosing the few best
(`Candidates.best`) names only those. A host whose counts change is `put`
again: its column is overwritten in place (or moved when its shape
changed), nothing is rebuilt.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from offpath.pci.summary import CompiledRequests, HostSummary, Shape, SummaryCatalog
from offpath.pci.weigher import pci_weights

_FIRST_HOSTS = 64

Rows = npt.NDArray[np.intp]


class _Block:
    """The hosts of one shape: their names, summaries, counts and free totals (the first `size`)."""

    __slots__ = ("counts", "free", "names", "shape", "summaries")

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.names: list[str] = []
        self.summaries: list[HostSummary] = []
        self.counts: npt.NDArray[np.int64] = np.zeros(
            (len(shape.key_ids), _FIRST_HOSTS), dtype=np.int64
        )
        self.free: npt.NDArray[np.int64] = np.zeros(_FIRST_HOSTS, dtype=np.int64)

    def append(self, host: str, summary: HostSummary) -> int:
        row = len(self.names)
        if row == self.free.shape[0]:
            grown = np.zeros((self.counts.shape[0], row * 2), dtype=np.int64)
            grown[:, :row] = self.counts
            self.counts = grown
            self.free = np.concatenate([self.free, np.zeros(row, dtype=np.int64)])
        self.names.append(host)
        self.summaries.append(summary)
        self.set(row, summary)
        return row

    def set(self, row: int, summary: HostSummary) -> None:
        self.counts[:, row] = summary.counts
        self.free[row] = summary.free_count
        self.summaries[row] = summary

    def remove(self, row: int) -> str | None:
        """Drop `row` by moving the last row into it; the moved host's name, if any."""
        last = len(self.names) - 1
        moved = None
        if row != last:
            moved = self.names[row] = self.names[last]
            self.summaries[row] = self.summaries[last]
            self.counts[:, row] = self.counts[:, last]
            self.free[row] = self.free[last]
        self.names.pop()
        self.summaries.pop()
        return moved


class Candidates:
    """The hosts a scan found, as positions per shape; names are made only when asked for."""

    __slots__ = ("_found",)

    def __init__(self, found: list[tuple[_Block, Rows]]) -> None:
        self._found = found

    def __len__(self) -> int:
        return sum(len(rows) for _, rows in self._found)

    def __iter__(self) -> Iterator[str]:
        for block, rows in self._found:
            names = block.names
            yield from (names[row] for row in rows.tolist())

    def only(self, keep: Callable[[str], bool]) -> Candidates:
        """The candidates `keep` accepts (asked host by host: for the rare slow filters)."""
        found = []
        for block, rows in self._found:
            kept = np.fromiter(
                (row for row in rows.tolist() if keep(block.names[row])), dtype=np.intp
            )
            if len(kept):
                found.append((block, kept))
        return Candidates(found)

    def names(self) -> list[str]:
        """Every host found, grouped by shape."""
        return list(self)

    def best(self, how_many: int, rng: random.Random) -> list[str]:
        """The `how_many` heaviest by Nova's PCIWeigher, best first; equal weights shuffled."""
        if not self._found or how_many < 1:
            return []
        weights = np.concatenate([pci_weights(block.free[rows]) for block, rows in self._found])
        total = len(weights)
        if total <= how_many:
            chosen = list(range(total))
        else:
            # The weight of the last place: every host above it is in, and a
            # uniform draw among those equal to it fills the remaining places.
            # Most often the heaviest weight alone fills them: no partition then.
            cut = weights.max()
            if np.count_nonzero(weights == cut) < how_many:
                cut = np.partition(weights, total - how_many)[total - how_many]
            above = np.flatnonzero(weights > cut).tolist()
            tied = np.flatnonzero(weights == cut)
            picks = rng.sample(range(len(tied)), how_many - len(above))
            chosen = above + tied[picks].tolist()
        rng.shuffle(chosen)
        chosen.sort(key=lambda i: -weights[i])
        return [self._name(i) for i in chosen]

    def _name(self, flat: int) -> str:
        for block, rows in self._found:
            if flat < len(rows):
                return block.names[int(rows[flat])]
            flat -= len(rows)
        raise IndexError(flat)


class SummaryIndex:
    """Host summaries kept as per-shape count matrices; answers as `SummaryCatalog.support`."""

    def __init__(self, catalog: SummaryCatalog) -> None:
        self.catalog = catalog
        self._blocks: dict[Shape, _Block] = {}
        self._where: dict[str, tuple[_Block, int]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, host: object) -> bool:
        return host in self._where

    def put(self, host: str, summary: HostSummary) -> None:
        """Add `host`, or bring its row up to date after its summary changed."""
        found = self._where.get(host)
        if found is not None:
            block, row = found
            if block.shape is summary.shape:
                block.set(row, summary)
                return
            self.remove(host)
        target = self._blocks.get(summary.shape)
        if target is None:
            target = self._blocks[summary.shape] = _Block(summary.shape)
        self._where[host] = (target, target.append(host, summary))

    def remove(self, host: str) -> None:
        """Forget `host` (no error when unknown)."""
        found = self._where.pop(host, None)
        if found is None:
            return
        block, row = found
        moved = block.remove(row)
        if moved is not None:
            self._where[moved] = (block, row)
        if not block.names:
            del self._blocks[block.shape]

    def scan(self, compiled: CompiledRequests) -> Candidates:
        """The hosts whose pools would serve `compiled`, as positions (no names built)."""
        found: list[tuple[_Block, Rows]] = []
        single = len(compiled.requests) == 1
        for block in self._blocks.values():
            size = len(block.names)
            fast = compiled.plan(block.shape).fast if single else None
            if fast is None:
                support = self.catalog.support
                rows = np.fromiter(
                    (row for row, s in enumerate(block.summaries) if support(s, compiled)),
                    dtype=np.intp,
                )
            elif not fast:
                continue
            else:
                counts = block.counts
                totals = counts[fast[0], :size].copy()
                for position in fast[1:]:
                    totals += counts[position, :size]
                rows = np.flatnonzero(totals >= compiled.requests[0].count)
            if len(rows):
                found.append((block, rows))
        return Candidates(found)

    def everyone(self) -> Candidates:
        """Every host of the index, as candidates."""
        return Candidates(
            [(block, np.arange(len(block.names), dtype=np.intp)) for block in self._blocks.values()]
        )

    def hosts_supporting(self, compiled: CompiledRequests) -> list[str]:
        """The hosts whose pools would serve `compiled`, grouped by shape."""
        return self.scan(compiled).names()
