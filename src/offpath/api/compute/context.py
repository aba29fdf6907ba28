"""The microversion a compute request runs at, as a handler dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from offpath.api.microversion import MIN_VERSION, Microversion


def compute_version(request: Request) -> Microversion:
    """The version the microversion middleware read for this request."""
    found = getattr(request.state, "microversion", None)
    return found if isinstance(found, Microversion) else MIN_VERSION


Version = Annotated[Microversion, Depends(compute_version)]


def at_least(version: Microversion, minor: int) -> bool:
    """True when `version` is 2.`minor` or newer."""
    return version >= Microversion(2, minor)
