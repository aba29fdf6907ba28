"""String booleans as Nova's config tags use them (oslo's bool_from_string)."""

from __future__ import annotations

TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})
ACCEPTED = ", ".join(f"'{word}'" for word in sorted(TRUE_WORDS | FALSE_WORDS))


def _as_text(value: object) -> str:
    # JSON true/false arrive as Python bools; str() gives "True"/"False".
    return str(value).strip().lower()


def lenient_bool(value: object) -> bool:
    """True for the true words (any case); everything else, None included, is False."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return _as_text(value) in TRUE_WORDS


def strict_bool(value: object) -> bool:
    """Parse a true or false word; anything else raises ValueError with Nova's text."""
    if isinstance(value, bool):
        return value
    text = _as_text(value)
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"Unrecognized value '{value}', acceptable values are: {ACCEPTED}")


def bool_word(value: bool) -> str:
    """The normalised tag spelling, "true" or "false"."""
    return "true" if value else "false"
