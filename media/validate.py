"""Checks of loose input from the UI and the API, declared once and read by every endpoint.

Each function returns the cleaned value or raises :class:`media.errors.InvalidInput` naming the field.
JSON clients send numbers as they are, so a whole-number field refuses ``1.5``, ``"2"`` and ``true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from media.errors import InvalidInput

NAME_MAX_CHARS = 120
"""Longest display name (library items, collections, characters, LoRAs), in characters."""

JOB_LIST_MAX = 500
"""Most jobs one ``list_jobs`` call returns."""

COST_DAYS_MAX = 3660
"""Longest spend window of ``costs``, in days (10 years)."""


def whole_number(value: Any, field: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]`` (either bound optional).

    Raises InvalidInput when it is not an int (floats, strings and booleans included) or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{field} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{field} must be at most {maximum}, not {value}")
    return value


def one_of(value: Any, field: str, allowed: Iterable[str]) -> str:
    """``value`` when it is one of ``allowed``; raises InvalidInput listing the allowed values."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def text(value: Any, field: str, empty_ok: bool = True) -> str:
    """``value`` as a string (None counts as empty); raises InvalidInput for other types or when empty
    and ``empty_ok`` is false."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise InvalidInput(f"{field} must not be empty")
    return value


def display_name(value: Any, field: str = "name") -> str:
    """A display name: text, stripped, not empty, at most :data:`NAME_MAX_CHARS` characters."""
    name = text(value, field).strip()
    if not name:
        raise InvalidInput(f"{field} must not be empty")
    if len(name) > NAME_MAX_CHARS:
        raise InvalidInput(f"{field} is {len(name)} characters long; the most is {NAME_MAX_CHARS}")
    return name


def mapping(value: Any, field: str) -> dict:
    """``value`` as a dict (None counts as empty); raises InvalidInput for lists, numbers, text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object of key: value pairs, not {type(value).__name__}")
    return value


def id_list(value: Any, field: str) -> list[str]:
    """``value`` as a list of id strings (None counts as empty)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{field} must be a list of ids")
    return list(value)
