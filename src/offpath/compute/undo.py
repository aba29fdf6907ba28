"""The steps a build has taken, undone in reverse when a later step fails."""

from __future__ import annotations

import logging
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class UndoStack:
    """Undo actions, pushed as their steps succeed; `run` calls them last first."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []

    def push(self, what: str, action: Callable[[], object]) -> None:
        """Remember how to undo the step just taken, described as `what`."""
        self._steps.append((what, action))

    def run(self) -> tuple[str, ...]:
        """Undo every step, last first; one that fails is logged and the others still run."""
        done: list[str] = []
        while self._steps:
            what, action = self._steps.pop()
            try:
                action()
            except Exception:
                # An undo that fails must not keep the earlier steps from being undone.
                LOG.exception("could not undo: %s", what)
                continue
            done.append(what)
        return tuple(done)

    def clear(self) -> None:
        """Forget the steps: the work they belong to is kept."""
        self._steps.clear()
