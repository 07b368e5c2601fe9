"""How a variant batch pairs videos with audio tracks and hooks.

Round robin is the studio's design ("Each video cycles through audio and hooks in order",
shared/design/original-architecture.md, Decision log): videos in selection order, ``k`` variants
each; variant number ``j`` (0-based over the whole batch) uses ``audio[j mod A]`` and ``hook[j mod H]``.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Literal, get_args

from media.errors import StudioError

Assignment = Literal["round_robin", "cartesian", "random"]
ASSIGNMENTS: tuple[str, ...] = get_args(Assignment)


class AssignmentError(StudioError, ValueError):
    """Impossible combination request (no videos, unknown mode, over the cap)."""


@dataclass(frozen=True)
class Combo:
    """Variant ``index`` (j): which video, audio (None = no new track) and hook (None = no text)."""

    index: int
    video_id: str
    audio_id: str | None
    hook_id: str | None


def _pick(items: list[str], j: int) -> str | None:
    return items[j % len(items)] if items else None


def round_robin(video_ids: list[str], audio_ids: list[str], hook_ids: list[str],
                variants_per_video: int) -> list[Combo]:
    """Videos in order, ``variants_per_video`` each; variant j takes audio[j mod A], hook[j mod H]."""
    combos = []
    for j, video_id in enumerate(v for v in video_ids for _ in range(variants_per_video)):
        combos.append(Combo(j, video_id, _pick(audio_ids, j), _pick(hook_ids, j)))
    return combos


def cartesian_count(video_ids: list[str], audio_ids: list[str], hook_ids: list[str]) -> int:
    """How many variants the full product videos x audios x hooks makes (empty lists count as 1)."""
    return len(video_ids) * max(1, len(audio_ids)) * max(1, len(hook_ids))


def cartesian(video_ids: list[str], audio_ids: list[str], hook_ids: list[str], cap: int) -> list[Combo]:
    """Every (video, audio, hook) combination, video-major; raises if more than ``cap`` variants."""
    count = cartesian_count(video_ids, audio_ids, hook_ids)
    if count > cap:
        raise AssignmentError(f"cartesian product makes {count} variants, over the cap of {cap}; "
                              "select fewer items or use round robin")
    product = itertools.product(video_ids, audio_ids or [None], hook_ids or [None])
    return [Combo(j, v, a, h) for j, (v, a, h) in enumerate(product)]


def random_assignment(video_ids: list[str], audio_ids: list[str], hook_ids: list[str],
                      variants_per_video: int, seed: int) -> list[Combo]:
    """Videos in order, ``variants_per_video`` each, audio and hook drawn with ``random.Random(seed)``.

    Within a video, draws avoid repeating an (audio, hook) pair while unused pairs remain.
    """
    rng = random.Random(seed)
    pairs = list(itertools.product(audio_ids or [None], hook_ids or [None]))
    combos: list[Combo] = []
    for video_id in video_ids:
        order = rng.sample(pairs, len(pairs))
        for k in range(variants_per_video):
            if k and k % len(order) == 0:
                order = rng.sample(pairs, len(pairs))
            audio_id, hook_id = order[k % len(order)]
            combos.append(Combo(len(combos), video_id, audio_id, hook_id))
    return combos


def assign(video_ids: list[str], audio_ids: list[str], hook_ids: list[str], variants_per_video: int = 1,
           mode: str = "round_robin", seed: int | None = None, cap: int = 500) -> list[Combo]:
    """Plan a batch; ``mode`` is one of :data:`ASSIGNMENTS`. Raises :class:`AssignmentError`.

    ``cap`` bounds every mode's variant count; ``cartesian`` ignores ``variants_per_video``.
    """
    if not video_ids:
        raise AssignmentError("select at least one video")
    if mode not in ASSIGNMENTS:
        raise AssignmentError(f"unknown assignment {mode!r}; use one of {', '.join(ASSIGNMENTS)}")
    if mode == "cartesian":
        return cartesian(video_ids, audio_ids, hook_ids, cap)
    if variants_per_video < 1:
        raise AssignmentError("variants per video must be at least 1")
    if len(video_ids) * variants_per_video > cap:
        raise AssignmentError(f"{len(video_ids) * variants_per_video} variants is over the cap of {cap}")
    if mode == "random":
        return random_assignment(video_ids, audio_ids, hook_ids, variants_per_video,
                                 seed if seed is not None else 0)
    return round_robin(video_ids, audio_ids, hook_ids, variants_per_video)
