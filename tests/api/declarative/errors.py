"""What the declarative runner raises for a bad story, path or substitution (not a failed check)."""

from __future__ import annotations


class DeclarativeError(Exception):
    """A story the runner cannot run as written; the message says where and why."""


class PathSyntaxError(DeclarativeError):
    """A JSON path that does not parse."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"JSON path {text!r}, at {position}: {reason}")
        self.text = text
        self.position = position


class PathNotFound(DeclarativeError):
    """A JSON path that parses but leads nowhere in the document."""


class SubstitutionError(DeclarativeError):
    """A `$RESPONSE`, `$HISTORY`, `$HEADERS` or `$ENVIRON` reference that names nothing."""


class StoryInvalid(DeclarativeError):
    """A YAML story file that is not in the documented format."""
