"""The face-swap provider interface. Adding a provider is one new module that implements it.

A provider turns (source video, face image) into a swapped video file at ``request.out_path`` and
reports through a :class:`SwapContext`. Cancellation: ``context.progress`` raises
``media.job_store.JobCanceled`` once the job is canceled; a provider lets it propagate (after
stopping remote work, e.g. fal's cancel) and leaves no file at ``out_path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

FaceSelection = Literal["one", "many", "reference"]
# Names of earlier releases (stored jobs, API callers) and what they mean now.
FACE_SELECTION_ALIASES: dict[str, str] = {"largest": "one", "all": "many"}


@dataclass(frozen=True)
class SwapOptions:
    """Which faces to replace.

    ``face_selection`` (FaceFusion's selector modes): ``one`` (the largest face of each frame, default),
    ``many`` (every face), or ``reference``: every face close (embedding distance,
    :mod:`media.face.embedding`) to the reference face, the face at ``reference_point`` (x, y in pixels
    of the source video's frame at ``reference_time_s``).
    ``source_face_index``: which face of the face image to use when it holds several (0 = largest).
    ``face_mapping``: (source face index, target face index) pairs: each source face of the face image
    onto the target face of that number in the frame at ``reference_time_s`` (0 = its largest face) and
    wherever that person appears again; implies ``reference`` selection.
    ``swap_model``: the ``onnx`` engine's swap model ("" = the setting ``NOVAI_SWAP_ONNX_MODEL``).
    ``enhancer``: face enhancer model run on each swapped face (None = the setting
    ``NOVAI_SWAP_ENHANCER``, "" = none), ``enhancer_blend`` 0..1 (None = the setting).
    ``ai_label``: burn the visible "AI-generated" label in (None = the setting ``NOVAI_SWAP_AI_LABEL``).
    """

    face_selection: FaceSelection = "one"
    reference_point: tuple[float, float] | None = None
    reference_time_s: float = 0.0
    source_face_index: int = 0
    face_mapping: tuple[tuple[int, int], ...] = ()
    swap_model: str = ""
    enhancer: str | None = None
    enhancer_blend: float | None = None
    ai_label: bool | None = None


@dataclass(frozen=True)
class SwapRequest:
    """Input files and where the result must be written (H.264 + AAC MP4); ``job_id`` goes into the
    output's synthetic-media description tag."""

    video_path: Path
    face_image_path: Path
    out_path: Path
    options: SwapOptions = field(default_factory=SwapOptions)
    job_id: str = ""


@dataclass
class SwapResult:
    """What a provider produced. ``billed_seconds`` is the output duration a cloud provider charges."""

    out_path: Path
    frames_total: int = 0
    frames_swapped: int = 0
    warnings: list[str] = field(default_factory=list)
    billed_seconds: float = 0.0


@dataclass
class SwapContext:
    """Callbacks into the job row: ``progress(percent 0-100, message)`` and
    ``external(request_id, status)`` for a cloud request (stored as ``external_request_id``)."""

    progress: Callable[[float, str], None]
    external: Callable[[str, str], None] = lambda request_id, status: None


class SwapProvider(Protocol):
    """A face-swap backend."""

    name: str
    needs_key: bool

    def swap(self, request: SwapRequest, context: SwapContext) -> SwapResult:
        """Write the swapped video to ``request.out_path``; raise a clear error on failure."""
        ...
