"""Review: the error hierarchy keeps its promises: stable distinct codes, a drawn tree."""

from __future__ import annotations

import inspect
import re

import pytest

from offpath import errors
from offpath.errors import (
    OffpathError,
)

KINDS = errors.KINDS


def _classes() -> list[type[OffpathError]]:
    return [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, OffpathError)
    ]


LEAVES = [cls for cls in _classes() if cls is not OffpathError and cls not in KINDS]


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda cls: cls.__name__)
def test_every_leaf_has_its_own_dotted_code_under_one_kind(leaf: type[OffpathError]) -> None:
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", leaf.code)
    assert sum(issubclass(leaf, kind) for kind in KINDS) == 1
    assert leaf.__doc__


def test_no_two_errors_share_a_code() -> None:
    codes = [cls.code for cls in _classes()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda cls: cls.__name__)
def test_the_docstring_tree_names_every_leaf_with_its_code(leaf: type[OffpathError]) -> None:
    tree = errors.__doc__ or ""
    (line,) = [row for row in tree.splitlines() if re.search(rf"\b{leaf.__name__}\b", row)]
    assert leaf.code in line
