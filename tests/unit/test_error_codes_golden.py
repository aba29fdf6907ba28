"""Golden: every error's code and kind, and each kind's HTTP status and exit code.

A code is a contract (clients and operators match on it): renaming one, reusing
one or moving an error to another kind fails here. How to rewrite the golden
file when a change is meant: see tests/unit/golden/__init__.py.
"""

from __future__ import annotations

import inspect
import json

from offpath import errors
from offpath.errors import KINDS, OffpathError, kind_of
from tests.unit.golden import assert_matches_golden

# The kinds, and the base that answers for an error of no kind (a bug).
ANSWERING: tuple[type[OffpathError], ...] = (*KINDS, OffpathError)


def error_classes() -> list[type[OffpathError]]:
    return [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, OffpathError)
    ]


def leaves() -> list[type[OffpathError]]:
    """The classes of offpath.errors that no other class of it derives from."""
    classes = error_classes()
    return [cls for cls in classes if not any(o is not cls and issubclass(o, cls) for o in classes)]


def error_codes_document() -> str:
    document = {
        "kinds": {
            kind.__name__: {"http_status": kind.http_status, "exit_code": kind.exit_code}
            for kind in ANSWERING
        },
        "errors": [
            {"code": cls.code, "class": cls.__name__, "kind": kind_of(cls).__name__}
            for cls in sorted(leaves(), key=lambda cls: cls.code)
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def test_error_codes_match_the_golden_list() -> None:
    assert_matches_golden("error-codes.json", error_codes_document())


def test_every_leaf_is_of_a_kind() -> None:
    assert {kind_of(cls) for cls in leaves()} <= set(KINDS)


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in error_classes()]
    assert sorted(codes) == sorted(set(codes))


def test_kinds_have_distinct_exit_codes_and_statuses() -> None:
    table = [(kind.exit_code, kind.http_status) for kind in ANSWERING]
    assert len({code for code, _ in table}) == len({status for _, status in table}) == len(table)
