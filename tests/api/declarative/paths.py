"""A small JSON path language: `$.port.binding:profile.vf_num`, `$.servers[0]`, filters, `len`.

Grammar (no escapes; a quoted key may not hold its own quote)::

    path     := '$' segment* ['.`len`']
    segment  := '.' name | '[' integer ']' | '[' quoted ']' | '[?' name '=' literal ']'
    name     := one or more characters other than . [ ] ` = and whitespace
    literal  := quoted | integer | true | false | null

A filter makes the list of the elements whose member `name` equals
`literal` (objects without it are left out): `[?host="bfb"][0].ok` is the
first such element's `ok`, `[?status="claimed"]` may be `[]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from tests.api.declarative.errors import PathNotFound, PathSyntaxError

Scalar = str | int | bool | None

_NAME: Final = re.compile(r"[^.\[\]`=\s]+")
_INTEGER: Final = re.compile(r"-?[0-9]+")
_LEN: Final = ".`len`"


@dataclass(frozen=True, slots=True)
class Key:
    """A member of an object."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """An element of a list; negative counts from the end."""

    position: int


@dataclass(frozen=True, slots=True)
class Match:
    """The elements of a list whose member `key` equals `value`, as a list."""

    key: str
    value: Scalar


Segment = Key | Index | Match


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: its segments, and whether it asks for the length of what they reach."""

    segments: tuple[Segment, ...]
    length: bool = False


def parse_path(text: str) -> JsonPath:
    """Parse `text`, or raise PathSyntaxError saying where."""
    if not text.startswith("$"):
        raise PathSyntaxError(text, 0, "a path starts with '$'")
    length = text.endswith(_LEN)
    end = len(text) - len(_LEN) if length else len(text)
    segments: list[Segment] = []
    at = 1
    while at < end:
        segment, at = _segment(text, at, end)
        segments.append(segment)
    return JsonPath(tuple(segments), length)


def _segment(text: str, at: int, end: int) -> tuple[Segment, int]:
    if text[at] == ".":
        found = _NAME.match(text, at + 1, end)
        if found is None:
            raise PathSyntaxError(text, at + 1, "a name follows '.'")
        return Key(found.group()), found.end()
    if text[at] != "[":
        raise PathSyntaxError(text, at, "expected '.' or '['")
    close = _closing(text, at, end)
    inside = text[at + 1 : close]
    if inside.startswith("?"):
        return _match(text, at, inside[1:]), close + 1
    if _INTEGER.fullmatch(inside):
        return Index(int(inside)), close + 1
    quoted = _quoted(inside)
    if quoted is None:
        raise PathSyntaxError(text, at + 1, "expected an integer, a quoted key or '?'")
    return Key(quoted), close + 1


def _closing(text: str, at: int, end: int) -> int:
    """The index of the ']' closing the bracket at `at`, skipping quoted text."""
    quote = ""
    for i in range(at + 1, end):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "]":
            return i
    raise PathSyntaxError(text, at, "'[' is never closed")


def _quoted(inside: str) -> str | None:
    if len(inside) >= 2 and inside[0] == inside[-1] and inside[0] in "'\"":
        body = inside[1:-1]
        return None if inside[0] in body else body
    return None


def _match(text: str, at: int, inside: str) -> Match:
    key, sep, raw = inside.partition("=")
    if not sep or not _NAME.fullmatch(key):
        raise PathSyntaxError(text, at + 2, "a filter is [?name=literal]")
    quoted = _quoted(raw)
    if quoted is not None:
        return Match(key, quoted)
    if _INTEGER.fullmatch(raw):
        return Match(key, int(raw))
    literals: dict[str, Scalar] = {"true": True, "false": False, "null": None}
    if raw not in literals:
        raise PathSyntaxError(text, at + 2 + len(key) + 1, f"{raw!r} is not a literal")
    return Match(key, literals[raw])


def render_path(path: JsonPath) -> str:
    """The canonical text of `path` (parses back to it)."""
    parts = ["$"]
    for segment in path.segments:
        match segment:
            case Key(name) if _NAME.fullmatch(name):
                parts.append(f".{name}")
            case Key(name):
                parts.append(f"[{_quote(name)}]")
            case Index(position):
                parts.append(f"[{position}]")
            case Match(key, value):
                shown = _quote(value) if isinstance(value, str) else json.dumps(value)
                parts.append(f"[?{key}={shown}]")
    if path.length:
        parts.append(_LEN)
    return "".join(parts)


def _quote(name: str) -> str:
    return f'"{name}"' if "'" in name else f"'{name}'"


def evaluate(path: JsonPath, document: object) -> object:
    """What `path` reaches in `document` (parsed JSON), or PathNotFound saying where it stopped."""
    here = document
    for done, segment in enumerate(path.segments):
        reason = _missing(here, segment)
        if reason is not None:
            walked = render_path(JsonPath(path.segments[:done]))
            raise PathNotFound(f"{render_path(path)}: at {walked}, {reason}")
        here = _child(here, segment)
    if path.length:
        if not isinstance(here, (list, dict, str)):
            raise PathNotFound(f"{render_path(path)}: a {_kind(here)} has no length")
        return len(here)
    return here


def _missing(here: object, segment: Segment) -> str | None:
    """Why `segment` reaches nothing from `here`; None if it reaches something."""
    match segment:
        case Key(name):
            if not isinstance(here, Mapping):
                return f"a {_kind(here)}, not an object, has no member {name!r}"
            if name not in here:
                return f"no member {name!r} among {sorted(map(str, here))}"
        case Index(position):
            if not isinstance(here, list):
                return f"a {_kind(here)}, not a list, has no element {position}"
            if not -len(here) <= position < len(here):
                return f"no element {position} in a list of {len(here)}"
        case Match(key, value):
            if not isinstance(here, list):
                return f"a {_kind(here)}, not a list, cannot be filtered by {key} = {value!r}"
    return None


def _child(here: object, segment: Segment) -> object:
    match segment:
        case Key(name):
            assert isinstance(here, Mapping)
            return here[name]
        case Index(position):
            assert isinstance(here, list)
            return here[position]
        case Match():
            assert isinstance(here, list)
            return _matching(here, segment)


def _matching(elements: list[object], match: Match) -> list[object]:
    # JSON's true is not 1: compare the encodings, not Python's loose equality.
    wanted = json.dumps(match.value)
    return [
        e
        for e in elements
        if isinstance(e, Mapping) and match.key in e and json.dumps(e[match.key]) == wanted
    ]


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean"}.get(
        type(value), "null" if value is None else "number"
    )
