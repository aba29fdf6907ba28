"""A record's primitive form: the JSON-safe dict it travels in (RPC) and is stored as (database).

Records write their own primitive; `PrimitiveFields` reads one back field by
field, so that a damaged or foreign document fails with `PrimitiveInvalid`
naming the record and the field, never with a KeyError or TypeError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from offpath.errors import PrimitiveInvalid
from offpath.jsonvalue import JsonValue

E = TypeVar("E", bound=StrEnum)


def is_json(value: object) -> bool:
    """True when `value` is made of JSON types only (finite floats, string keys)."""
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json(item) for key, item in value.items())
    return False


class PrimitiveFields:
    """The fields of one record's primitive, read with their types checked."""

    __slots__ = ("_data", "_record")

    def __init__(self, record: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise PrimitiveInvalid(record, f"expected an object, got {type(data).__name__}")
        self._record = record
        self._data: Mapping[object, object] = data

    def _invalid(self, name: str, expected: str) -> PrimitiveInvalid:
        value = self._data.get(name)
        return PrimitiveInvalid(
            self._record, f"field {name!r} must be {expected}, not {type(value).__name__}"
        )

    def text(self, name: str) -> str:
        """A required string."""
        if name not in self._data:
            raise PrimitiveInvalid(self._record, f"field {name!r} is missing")
        value = self._data[name]
        if not isinstance(value, str):
            raise self._invalid(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        """A string or null (null when absent)."""
        value = self._data.get(name)
        if value is not None and not isinstance(value, str):
            raise self._invalid(name, "a string or null")
        return value

    def optional_int(self, name: str) -> int | None:
        """An integer or null (null when absent)."""
        value = self._data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._invalid(name, "an integer or null")
        return value

    def integer(self, name: str) -> int:
        """A required integer."""
        value = self.optional_int(name)
        if value is None:
            raise self._invalid(name, "an integer")
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        """A boolean (`default` when absent)."""
        value = self._data.get(name, default)
        if not isinstance(value, bool):
            raise self._invalid(name, "a boolean")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        """A list of strings (empty when absent)."""
        value = self._data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._invalid(name, "a list of strings")
        return tuple(value)

    def text_map(self, name: str) -> dict[str, str]:
        """An object of strings (empty when absent)."""
        value = self._data.get(name, {})
        if not isinstance(value, dict) or not all(
            isinstance(key, str) and isinstance(item, str) for key, item in value.items()
        ):
            raise self._invalid(name, "an object of strings")
        return dict(value)

    def json_map(self, name: str) -> dict[str, JsonValue]:
        """An object of JSON values (empty when absent)."""
        value = self._data.get(name, {})
        if not isinstance(value, dict) or not is_json(value):
            raise self._invalid(name, "an object of JSON values")
        return dict(value)

    def choice(self, name: str, kind: type[E]) -> E:
        """A required string that names a member of `kind`."""
        text = self.text(name)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise PrimitiveInvalid(
                self._record, f"field {name!r} is {text!r}, not one of {allowed}"
            ) from None

    def optional_choice(self, name: str, kind: type[E], *, default: E) -> E:
        """A string naming a member of `kind` (`default` when absent)."""
        if name not in self._data:
            return default
        return self.choice(name, kind)

    def nested(self, name: str) -> object:
        """A nested record's primitive, read by its own record (None when absent)."""
        return self._data.get(name)
