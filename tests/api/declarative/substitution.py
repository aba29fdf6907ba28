"""References in a story to earlier answers and to the fixture's values, replaced before use.

`$ENVIRON['NAME']` is a value the fixture gives; `$RESPONSE['<path>']` the
previous step's JSON body at a path; `$HEADERS['name']` one of its
response headers; `$HISTORY['step'].$RESPONSE[...]` (or `.$HEADERS[...]`)
the same of a named earlier step. A string that is one reference and
nothing else becomes the value itself (a number stays a number); inside a
longer string a value is written as text (JSON for anything not a string).
A path inside a reference ends at the first `']`: quote its keys with `"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from tests.api.declarative.errors import DeclarativeError, SubstitutionError
from tests.api.declarative.paths import evaluate, parse_path

_REFERENCE: Final = re.compile(
    r"(?:\$HISTORY\['(?P<step>[^']*)'\]\.)?\$(?P<kind>RESPONSE|HEADERS|ENVIRON)\['(?P<arg>.*?)'\]"
)
# What is left of a reference that did not parse: a typo the story must not hide.
_BROKEN: Final = re.compile(r"\$(?:HISTORY|RESPONSE|HEADERS|ENVIRON)\b")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One step's answer, as later steps may refer to it."""

    name: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: object  # parsed JSON; None when the body was empty or not JSON
    text: str


@dataclass(frozen=True, slots=True)
class Scope:
    """What references may name: the fixture's values and the steps run so far, in order."""

    environ: Mapping[str, str]
    history: Sequence[Exchange] = ()


def substitute(value: object, scope: Scope) -> object:
    """`value` (YAML data) with every reference in its strings and keys replaced."""
    if isinstance(value, str):
        return substitute_text(value, scope)
    if isinstance(value, list):
        return [substitute(item, scope) for item in value]
    if isinstance(value, Mapping):
        return {
            _as_key(substitute(key, scope)): substitute(item, scope) for key, item in value.items()
        }
    return value


def substitute_text(text: str, scope: Scope) -> object:
    """`text` with its references replaced; the bare value if `text` is one reference."""
    whole = _REFERENCE.fullmatch(text)
    if whole is not None:
        return _resolve(whole, scope)
    pieces: list[str] = []
    at = 0
    for found in _REFERENCE.finditer(text):
        pieces.append(_plain(text[at : found.start()]))
        pieces.append(_as_text(_resolve(found, scope)))
        at = found.end()
    pieces.append(_plain(text[at:]))
    return "".join(pieces)


def _plain(text: str) -> str:
    broken = _BROKEN.search(text)
    if broken is not None:
        raise SubstitutionError(
            f"{text!r}: {broken.group()} is not followed by ['...'] "
            "(see the reference forms in docs/declarative-tests.md)"
        )
    return text


def _resolve(found: re.Match[str], scope: Scope) -> object:
    step, kind, arg = found.group("step"), found.group("kind"), found.group("arg")
    if kind == "ENVIRON":
        if step is not None:
            raise SubstitutionError(f"{found.group()!r}: $ENVIRON is not a step's")
        if arg not in scope.environ:
            raise SubstitutionError(f"$ENVIRON has no {arg!r}: {sorted(scope.environ)}")
        return scope.environ[arg]
    exchange = _exchange(scope, step)
    if kind == "HEADERS":
        if arg.lower() not in exchange.headers:
            raise SubstitutionError(f"step {exchange.name!r} answered no header {arg!r}")
        return exchange.headers[arg.lower()]
    if exchange.body is None:
        raise SubstitutionError(f"step {exchange.name!r} answered no JSON body: {exchange.text!r}")
    try:
        return evaluate(parse_path(arg), exchange.body)
    except DeclarativeError as exc:
        raise SubstitutionError(f"step {exchange.name!r}: {exc}") from exc


def _exchange(scope: Scope, step: str | None) -> Exchange:
    if step is None:
        if not scope.history:
            raise SubstitutionError("$RESPONSE or $HEADERS in the first step: no answer yet")
        return scope.history[-1]
    for exchange in reversed(scope.history):
        if exchange.name == step:
            return exchange
    raise SubstitutionError(f"$HISTORY names no earlier step {step!r}")


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _as_key(value: object) -> str:
    # JSON object keys are strings: a key that is a reference to a number is written as text.
    return _as_text(value)
