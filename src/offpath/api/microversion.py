"""Compute API microversions: read from either header, checked against the range, echoed.

As Nova: no header means 2.1, `latest` the maximum, a version out of range
a 406, a malformed one a 400. The answer carries the version used in both
headers and a `Vary` on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers

from offpath.api.errors import HttpFault


@dataclass(frozen=True, order=True, slots=True)
class Microversion:
    """A compute API version, 2.N."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Microversion:
        """`2.N`; 400 with Nova's message when malformed."""
        found = _VERSION.fullmatch(text.strip())
        if found is None:
            raise HttpFault(
                400,
                f"API Version String {text.strip()[:40]} is of invalid format. "
                "Must be of format MajorNum.MinorNum.",
            )
        return cls(int(found[1]), int(found[2]))


_VERSION: Final = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)")
MIN_VERSION: Final = Microversion(2, 1)
# The highest version whose request shapes offpath accepts; bodies are always
# in the newest shape where clients ignore what they do not know.
MAX_VERSION: Final = Microversion(2, 96)
HEADER: Final = "OpenStack-API-Version"
LEGACY_HEADER: Final = "X-OpenStack-Nova-API-Version"


def requested_version(headers: Headers) -> Microversion:
    """The version a request asks for; 2.1 when it names none."""
    text: str | None = None
    for part in headers.get(HEADER.lower(), "").split(","):
        service, _, value = part.strip().partition(" ")
        if service.lower() == "compute":
            text = value
    if text is None:
        text = headers.get(LEGACY_HEADER.lower())
    if text is None or not text.strip():
        return MIN_VERSION
    if text.strip().lower() == "latest":
        return MAX_VERSION
    version = Microversion.parse(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise HttpFault(
            406,
            f"Version {version} is not supported by the API. "
            f"Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}.",
        )
    return version


def version_headers(version: Microversion) -> dict[str, str]:
    """The headers that echo the version an answer was made at."""
    return {
        HEADER: f"compute {version}",
        LEGACY_HEADER: str(version),
        "Vary": f"{HEADER}, {LEGACY_HEADER}",
    }
