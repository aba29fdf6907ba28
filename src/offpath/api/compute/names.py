"""Nova's `name` format, shared by servers and flavors: printable, no leading or trailing blank."""

from __future__ import annotations

from typing import Final

NAME_PATTERN: Final = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
