"""A PF and its children (VFs, vDPA devices): the one exclusivity rule every view of a host applies.

As in Nova, a PF and a child of it are never in use together: a child in use
makes its PF unusable, a PF in use makes all its children unusable, and a PF
comes back once none of its children is in use any more. The claim states
(`claims`), the pools (`pools`) and the scheduler's summaries (`summary`)
keep a host's devices their own way (statuses, pool entries, count
positions): each says how it finds a member's PF and children (`Family`),
and asks here which members taking or freeing one changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from offpath.pci.device import CHILD_TYPES, DevType

M = TypeVar("M")


class Family(Protocol[M]):
    """How one view links its members: a child to its tracked PF, a PF to its children."""

    def pf_of(self, member: M, /) -> M | None:
        """The tracked PF of a child; None for a PF, a stand-alone device or an orphan."""
        ...

    def children_of(self, member: M, /) -> Sequence[M]:
        """The tracked children of a PF; empty for any other member."""
        ...


def hangs_from(child: str, parent: str) -> bool:
    """True when a device of type `child` belongs to the family of a device of type `parent`."""
    return child in CHILD_TYPES and parent == DevType.PF


def excluded_by(family: Family[M], member: M) -> Sequence[M]:
    """The members that `member` in use keeps from being taken: its PF, or all its children.

    The relation is symmetric: `a` excludes `b` exactly when `b` excludes `a`.
    """
    pf = family.pf_of(member)
    return (pf,) if pf is not None else family.children_of(member)


def released_by(family: Family[M], member: M, *, free: Callable[[M], bool]) -> Sequence[M]:
    """The members freeing `member` gives back: a PF's children, or a child's PF once every
    other child of it is `free`."""
    pf = family.pf_of(member)
    if pf is None:
        return family.children_of(member)
    if all(free(sibling) for sibling in family.children_of(pf) if sibling is not member):
        return (pf,)
    return ()


def kept_from_use(family: Family[M], member: M, *, in_use: Callable[[M], bool]) -> bool:
    """True when a member of the family that `member` excludes is `in_use`."""
    return any(in_use(other) for other in excluded_by(family, member))
