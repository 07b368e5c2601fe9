"""The Variants option ``lipsync``: lip-sync each variant whose audio is replaced, on fal, after it renders.

``options["lipsync"]`` names a provider of tool ``lipsync`` (:mod:`jobs.providers`, e.g.
``sync_lipsync``); empty = off. A variant is lip-synced when it has an audio track and ``audio_mode`` is
``replace``; its charge is the provider's price for the source video's duration (the variant's length).
The batch's total is shown first (:func:`estimate_batch`) and reserved against the daily limit, all
variants or none, before anything is created; the cost is recorded on each variant's render job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs import fal
from jobs.fal_jobs import run_request
from jobs.providers import Provider, get_provider
from media import job_store, store
from media.assignment import Combo
from media.db import session_scope
from media.models import Video

OPTION = "lipsync"
COST_TYPE = "lipsync"


def split_option(options: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(options without ``lipsync``, the provider id or None). Raises InvalidInput for an unknown one."""
    rest = dict(options)
    chosen = rest.pop(OPTION, None)
    if chosen in (None, "", False, "off", "none"):
        return rest, None
    if chosen is True:
        chosen = "sync_lipsync"
    return rest, get_provider("lipsync", str(chosen)).id


def charges(combos: list[Combo], audio_modes: dict[int, str], provider_id: str | None) -> dict[int, int]:
    """Cents to reserve per variant index that will be lip-synced (audio present, audio_mode replace)."""
    if not provider_id:
        return {}
    provider = get_provider("lipsync", provider_id)
    with session_scope() as session:
        durations = {c.video_id: (session.get(Video, c.video_id).duration_s if session.get(Video, c.video_id)
                                  else 0.0) for c in combos}
    return {c.index: provider.current_price().cents(durations[c.video_id]) for c in combos
            if c.audio_id and audio_modes.get(c.index, "replace") == "replace"}


def estimate_batch(combos: list[Combo], audio_modes: dict[int, str], provider_id: str | None) -> dict[str, Any]:
    """``{total, lipsync_variants, estimate_cents}`` of a planned batch (cents, whole)."""
    planned = charges(combos, audio_modes, provider_id)
    return {"total": len(combos), "lipsync_variants": len(planned), "estimate_cents": sum(planned.values())}


def apply(job_id: str, provider_id: str, rendered: Path, audio_path: Path, name: str) -> int:
    """Lip-sync the rendered variant file in place with ``audio_path``; returns the cents recorded.

    Raises :class:`jobs.fal.FalError` (the variant then fails with fal's message); ``JobCanceled``."""
    provider: Provider = get_provider("lipsync", provider_id)
    with store.work_dir("variant-lipsync-") as tmp:
        def uploads(client) -> dict[str, str]:
            return {"video": fal.upload_file(client, rendered), "audio": fal.upload_file(client, audio_path)}

        out, info, _ = run_request(job_id, provider, uploads, {}, tmp / "lipsync.mp4")
        cents = provider.current_price().cents(info.duration_s)
        job_store.record_cost(job_id, COST_TYPE, cents, f"{provider.label}: {info.duration_s:.1f} s, variant {name}")
        store.commit_file(out, rendered)
    return cents
