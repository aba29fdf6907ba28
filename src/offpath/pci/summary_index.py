"""Many hosts' summaries as one count matrix per shape, to scan 100,000 hosts in numpy.

Hosts with the same shape (the same pool keys) share a 2-D array: one row
per host, one column per pool position. A single request whose plan is a
plain sum (`_Plan.fast`) is answered for a whole shape at once by summing
its columns; anything else (several requests, PF/VF overlap, placement
providers) asks `SummaryCatalog.support` host by host, so every answer is
the catalog's. A host whose counts change is `put` again: its row is
overwritten in place (or moved when its shape changed), nothing is rebuilt.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from offpath.pci.summary import CompiledRequests, HostSummary, Shape, SummaryCatalog

_FIRST_ROWS = 64


class _Block:
    """The hosts of one shape: their names, summaries and count rows (the first `size`)."""

    __slots__ = ("counts", "names", "shape", "summaries")

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.names: list[str] = []
        self.summaries: list[HostSummary] = []
        self.counts: npt.NDArray[np.int64] = np.zeros(
            (_FIRST_ROWS, len(shape.key_ids)), dtype=np.int64
        )

    def append(self, host: str, summary: HostSummary) -> int:
        row = len(self.names)
        if row == self.counts.shape[0]:
            grown = np.zeros((row * 2, self.counts.shape[1]), dtype=np.int64)
            grown[:row] = self.counts
            self.counts = grown
        self.names.append(host)
        self.summaries.append(summary)
        self.counts[row] = summary.counts
        return row

    def remove(self, row: int) -> str | None:
        """Drop `row` by moving the last row into it; the moved host's name, if any."""
        last = len(self.names) - 1
        moved = None
        if row != last:
            moved = self.names[row] = self.names[last]
            self.summaries[row] = self.summaries[last]
            self.counts[row] = self.counts[last]
        self.names.pop()
        self.summaries.pop()
        return moved


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
                block.counts[row] = summary.counts
                block.summaries[row] = summary
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

    def hosts_supporting(self, compiled: CompiledRequests) -> list[str]:
        """The hosts whose pools would serve `compiled`, grouped by shape."""
        found: list[str] = []
        single = len(compiled.requests) == 1
        for block in self._blocks.values():
            fast = compiled.plan(block.shape).fast if single else None
            if fast is None:
                support = self.catalog.support
                found.extend(
                    name
                    for name, summary in zip(block.names, block.summaries, strict=True)
                    if support(summary, compiled)
                )
                continue
            if not fast:
                continue
            size = len(block.names)
            counts = block.counts[:size]
            totals = counts[:, fast[0]].copy()
            for position in fast[1:]:
                totals += counts[:, position]
            rows = np.flatnonzero(totals >= compiled.requests[0].count)
            names = block.names
            found.extend(names[row] for row in rows.tolist())
        return found
