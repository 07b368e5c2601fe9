"""The character-diagram provider interface. Adding a provider is one new module that implements it.

A provider turns one photo of a person (already checked to hold a face) into a character reference
image and returns its encoded bytes; the task (``jobs/character_tasks.py``) validates, stores and
catalogs the result, and records any cost the provider reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # numpy / mediapipe types only; providers import them lazily
    import numpy as np


@dataclass(frozen=True)
class CharacterRequest:
    """One diagram to make.

    ``photo``: the source photo as RGB uint8 ``(H, W, 3)`` (EXIF orientation applied);
    ``face``: the largest face found in it (``media.face.landmarks.Face``: box and 468 landmarks in
    pixels of ``photo``); ``name``: the character's name; ``notes``: the creator's optional notes
    (outfit, style); ``made_on``: the date printed on a sheet.
    """

    photo: np.ndarray
    face: Any
    name: str
    notes: str = ""
    made_on: date = field(default_factory=date.today)


@dataclass
class CharacterResult:
    """What a provider produced: encoded image bytes (PNG/JPEG/WebP) and what it cost.

    ``cost_cents``: the price of the call (0 for offline providers); ``model``: the model or method
    used; ``text``: any text the model returned beside the image.
    """

    image_bytes: bytes
    cost_cents: float = 0.0
    model: str = ""
    text: str = ""
    warnings: list[str] = field(default_factory=list)


ProgressFn = Callable[[float, str], None]
"""``progress(percent 0-100, message)``; raises ``JobCanceled`` once the job is canceled."""


class CharacterProvider(Protocol):
    """A character-diagram backend."""

    name: str
    needs_key: bool
    description: str

    def generate(self, request: CharacterRequest, progress: ProgressFn) -> CharacterResult:
        """Make the diagram; raise ``UserFacingError`` (or a subclass) with a clear message on failure."""
        ...
