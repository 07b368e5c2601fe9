"""Submitting variant work: validate, create catalog rows, enqueue tasks, return ids (no rendering here)."""

from __future__ import annotations

from typing import Any

from jobs.queue import enqueue_many, huey
from jobs.runner import UserFacingError, submit
from jobs.variant_tasks import build_zip_task, normalize_video_task, render_variant_task
from media import batches, job_store
from media.assignment import AssignmentError, assign, cartesian_count
from media.settings import get_settings
from media.variant_render import VariantOptions

BATCH_KEYS = ("assignment", "seed")


def plan_count(video_ids: list[str], audio_ids: list[str], hook_ids: list[str], variants_per_video: int,
               assignment: str = "round_robin") -> int:
    """How many variants a batch would make (shown before starting)."""
    if assignment == "cartesian":
        return cartesian_count(video_ids, audio_ids, hook_ids) if video_ids else 0
    return len(video_ids) * max(0, variants_per_video)


def create_variant_batch(video_ids: list[str], audio_ids: list[str] | None = None,
                         hook_ids: list[str] | None = None, variants_per_video: int = 1,
                         options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plan a batch, create its rows and queue one render job per variant.

    ``options``: ``assignment`` (round_robin | cartesian | random), ``seed`` (random), and the render
    options of :class:`media.variant_render.VariantOptions` (hook_position, hook_start_s,
    hook_duration_s, audio_mode, fit, text style keys). Returns ``{batch_id, total, job_ids}``.
    Raises :class:`UserFacingError` for bad input (nothing is created then).
    """
    options = dict(options or {})
    audio_ids, hook_ids = list(audio_ids or []), list(hook_ids or [])
    try:
        render_options = VariantOptions.from_dict(options)
        combos = assign(list(video_ids), audio_ids, hook_ids, int(variants_per_video),
                        options.get("assignment", "round_robin"), _seed(options),
                        get_settings().cartesian_cap)
        stored = {**{k: options[k] for k in BATCH_KEYS if k in options}, **render_options.to_dict()}
        batch = batches.create_batch(combos, stored, job_payload=True)
    except (AssignmentError, batches.BatchError, ValueError) as exc:
        raise UserFacingError(str(exc)) from exc
    job_ids = enqueue_batch(batch.id)
    return {"batch_id": batch.id, "total": batch.total, "job_ids": job_ids}


VARIANT_PRIORITY = 10  # variant renders go before ahead-of-time normalisations (priority 0) when the
# queue storage supports priorities (SQLite); the render normalises its own source first anyway.


def first_results_order(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """``(variant_id, video_id, job_id)`` rows reordered so sources take turns: the first variant of
    every source, then every source's second, ... Two workers then normalise two different sources
    at once instead of one waiting for the other's normalisation, and the first result arrives
    after one normalisation and one render (issue 15)."""
    turn: dict[str, int] = {}
    keyed = []
    for pos, row in enumerate(rows):
        k = turn.get(row[1], 0)
        turn[row[1]] = k + 1
        keyed.append((k, pos, row))
    return [row for _, _, row in sorted(keyed)]


def enqueue_batch(batch_id: str) -> list[str]:
    """Enqueue the render task of every variant of a planned batch (job rows already ``queued``) and
    record the Huey task ids in one transaction; returns the job ids in batch order."""
    rows = batches.batch_jobs(batch_id)
    priority = VARIANT_PRIORITY if getattr(huey.storage, "priority", False) else None
    tasks = [render_variant_task.s(job_id, priority=priority) for _, _, job_id in first_results_order(rows)]
    job_store.set_task_ids({task.args[0]: task.id for task in tasks})  # before a worker can start one
    enqueue_many(tasks)
    return [job_id for _, _, job_id in rows]


def _seed(options: dict[str, Any]) -> int | None:
    seed = options.get("seed")
    if seed in (None, ""):
        return None
    try:
        return int(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"seed must be a whole number, got {seed!r}") from exc


def cancel_batch(batch_id: str) -> int:
    """Cancel every unfinished variant of a batch; returns how many were canceled."""
    canceled = 0
    for variant in batches.batch_variants(batch_id):
        if variant.status in ("pending", "queued", "processing"):
            if variant.job_id:
                job_store.cancel_job(variant.job_id)
            batches.update_variant(variant.id, status="canceled", error="canceled")
            canceled += 1
    return canceled


def request_zip(batch_id: str) -> str:
    """Queue a job that builds the batch's ZIP; returns the job id."""
    batches.get_batch(batch_id)
    job = job_store.create_job("variant_zip", {"batch_id": batch_id}, reference_id=batch_id)
    batches.set_zip_job(batch_id, job.id)
    submit(job.id, build_zip_task)
    return job.id


def request_normalize(video_id: str, fit: str = "blur") -> str:
    """Queue the canonical copy of a library video (made ahead of its first batch); returns the job id."""
    job = job_store.create_job("normalize", {"video_id": video_id, "fit": fit}, reference_id=video_id)
    submit(job.id, normalize_video_task)
    return job.id
