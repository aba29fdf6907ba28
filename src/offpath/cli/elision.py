"""Messages that quote an operator's value: a huge value must not make a huge line."""

from __future__ import annotations

from typing import Final

# Long enough for any real spec, alias or path; a message is read on one screen line or two.
MESSAGE_LIMIT: Final = 400


def elide(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` as is when short; else its head and tail around a note of what was left out.

    Both ends are kept: the head says what is wrong, the tail often says why
    (`... is greater than the maximum allowable value (FFFF).`).
    """
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    left_out = len(text) - head - tail
    return f"{text[:head]}[... {left_out} characters left out ...]{text[-tail:]}"
