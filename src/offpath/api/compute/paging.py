"""Nova's `limit` query parameter: a non-negative integer, else its 400."""

from __future__ import annotations

from offpath.errors import RequestBodyInvalid


def limit_param(value: str | None) -> int | None:
    """The page length asked for; None when not asked."""
    if value is None:
        return None
    if not value.isdigit():
        raise RequestBodyInvalid(
            f"Invalid input for query parameters limit. Value: {value[:40]}. "
            "'limit' must be a non-negative integer"
        )
    return int(value)
