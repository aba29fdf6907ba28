"""Review: `elide`, which keeps a message that quotes a huge value short (cli/elision.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.cli.elision import MESSAGE_LIMIT, elide

NOTE = re.compile(r"\[\.\.\. (\d+) characters left out \.\.\.\]")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("property vendor_id ('zz') does not parse as a hex number.", id="short"),
        pytest.param("x" * MESSAGE_LIMIT, id="at-the-limit"),
    ],
)
def test_a_short_text_is_unchanged(text: str) -> None:
    assert elide(text) == text


def test_a_long_text_keeps_its_head_and_tail() -> None:
    text = "property vendor_id (" + "a" * 10_000 + ") is greater than the maximum (FFFF)."
    shown = elide(text)
    assert shown.startswith("property vendor_id (aaa")
    assert shown.endswith("aaa) is greater than the maximum (FFFF).")
    assert f"[... {len(text) - MESSAGE_LIMIT} characters left out ...]" in shown


@given(st.text(), st.integers(min_value=1, max_value=2000))
def test_elided_text_is_bounded_and_accounts_for_every_character(text: str, limit: int) -> None:
    shown = elide(text, limit)
    note = NOTE.search(shown)
    if note is None:
        assert shown == text
        assert len(text) <= limit
        return
    left_out = int(note.group(1))
    kept = shown[: note.start()] + shown[note.end() :]
    assert len(kept) == limit
    assert len(kept) + left_out == len(text)
    assert text.startswith(shown[: note.start()])
    assert text.endswith(shown[note.end() :])
