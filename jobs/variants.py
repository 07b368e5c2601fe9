"""Submitting variant work: validate, create catalog rows, enqueue tasks, return ids (no rendering here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs import variant_lipsync
from jobs.queue import enqueue_many, huey
from jobs.runner import UserFacingError, submit
from jobs.variant_tasks import build_zip_task, normalize_video_task, notify_if_finished, render_variant_task
from media import asr, batches, csv_batches, job_store, library, store, tts, validate, webhooks
from media.assignment import AssignmentError, assign, cartesian_count
from media.costs import spend_reservations
from media.errors import InvalidInput
from media.kenburns import DEFAULT_STILL_S, still_to_video
from media.settings import get_settings
from media.variant_options import BATCH_KEYS, VariantOptions


def plan_count(video_ids: list[str], audio_ids: list[str], hook_ids: list[str], variants_per_video: int,
               assignment: str = "round_robin") -> int:
    """How many variants a batch would make (shown before starting)."""
    if assignment == "cartesian":
        return cartesian_count(video_ids, audio_ids, hook_ids) if video_ids else 0
    return len(video_ids) * max(0, variants_per_video)


def create_variant_batch(video_ids: list[str], audio_ids: list[str] | None = None,
                         hook_ids: list[str] | None = None, variants_per_video: int = 1,
                         options: dict[str, Any] | None = None, scripts: list[str] | None = None,
                         webhook_url: str = "") -> dict[str, Any]:
    """Plan a batch, create its rows and queue one render job per variant.

    ``video_ids`` may name library images too: each becomes a Ken Burns clip (``still_*`` options) first.
    ``options``: ``assignment`` (round_robin | cartesian | random), ``seed`` (random), and the render
    options of :class:`media.variant_options.VariantOptions` (hook, audio, captions, voice-over, mix;
    see docs/API.md); ``lipsync``: a lip-sync provider id (e.g. ``sync_lipsync``) to lip-sync every
    variant whose audio is replaced, its total reserved against the daily limit first (see
    :mod:`jobs.variant_lipsync`). ``scripts``: per-variant voice-over texts, round robin over the variants
    like hooks. ``webhook_url``: POST a JSON notice there when the batch finishes (default: the
    ``batch_webhook_url`` setting; see :mod:`media.webhooks`).
    Returns ``{batch_id, total, job_ids}``. Raises :class:`UserFacingError` for bad input (nothing is
    created then).
    """
    scripts = [s.strip() for s in (scripts or []) if s and s.strip()]
    try:
        url = webhooks.check_url(webhook_url) if webhook_url.strip() else ""
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc
    combos, stored, lipsync = _plan(video_ids, audio_ids, hook_ids, variants_per_video, options, scripts)
    charges = variant_lipsync.charges(combos, {}, lipsync) if stored["audio_mode"] == "replace" else {}
    return _start(combos, stored, url, lipsync, charges, scripts=scripts)


def _plan(video_ids, audio_ids, hook_ids, variants_per_video, options, scripts=None, make_stills=True):
    """(combos, stored batch options, lipsync provider id or None); raises UserFacingError.

    ``make_stills``: turn library images into Ken Burns clips (False for an estimate: nothing is made)."""
    options = dict(validate.mapping(options, "options"))
    video_ids = validate.id_list(video_ids, "video_ids")
    audio_ids, hook_ids = validate.id_list(audio_ids, "audio_ids"), validate.id_list(hook_ids, "hook_ids")
    variants_per_video = validate.whole_number(variants_per_video, "variants_per_video", 1)
    try:
        options, lipsync = variant_lipsync.split_option(options)
        render_options = VariantOptions.from_dict(options)
        _check_voice(render_options, hook_ids, list(scripts or []))
        if make_stills:
            images = library.image_ids(video_ids)  # one query, not one per source
            video_ids = [_as_video(i, render_options, audio_ids) if i in images else i for i in video_ids]
        combos = assign(list(video_ids), audio_ids, hook_ids, int(variants_per_video),
                        options.get("assignment", "round_robin"), _seed(options),
                        get_settings().cartesian_cap)
    except (AssignmentError, batches.BatchError, ValueError) as exc:
        raise UserFacingError(str(exc)) from exc
    return combos, {**{k: options[k] for k in BATCH_KEYS if k in options}, **render_options.to_dict()}, lipsync


def estimate_variant_batch(video_ids: list[str], audio_ids: list[str] | None = None,
                           hook_ids: list[str] | None = None, variants_per_video: int = 1,
                           options: dict[str, Any] | None = None,
                           scripts: list[str] | None = None) -> dict[str, Any]:
    """What a batch would make and cost before it starts: ``{total, lipsync_variants, estimate_cents}``
    (the ``lipsync`` option's total, cents; 0 without it). Raises UserFacingError like
    :func:`create_variant_batch`."""
    combos, stored, lipsync = _plan(video_ids, audio_ids, hook_ids, variants_per_video, options,
                                    scripts, make_stills=False)
    modes = {c.index: stored["audio_mode"] for c in combos}
    return variant_lipsync.estimate_batch(combos, modes, lipsync)


def _start(combos, stored, url, lipsync, charges, extras=None, scripts=None) -> dict[str, Any]:
    """Reserve the lip-sync charges (all or none), create the batch rows and queue its jobs."""
    extras = {i: dict(v) for i, v in (extras or {}).items()}
    for index in charges:
        extras.setdefault(index, {})["lipsync"] = lipsync
    with spend_reservations("variant", list(charges.values())) as holds:
        try:
            batch = batches.create_batch(combos, stored, scripts=scripts, extras=extras, job_payload=True)
        except (batches.BatchError, ValueError) as exc:
            raise UserFacingError(str(exc)) from exc
        job_ids = _queue_batch(batch.id, url, dict(zip(charges, holds)))
    return {"batch_id": batch.id, "total": batch.total, "job_ids": job_ids}


def create_batch_from_csv(file: str | Path | None = None, options: dict[str, Any] | None = None,
                          text: str = "", webhook_url: str = "") -> dict[str, Any]:
    """Start a batch from a spreadsheet: one variant per row (see :mod:`media.csv_batches`).

    ``file``: path of a CSV file, or ``text``: a pasted table. ``options``: batch defaults for every row
    (any :class:`VariantOptions` key; a row's option cells win). Returns ``{batch_id, total, job_ids}``.
    Raises :class:`media.csv_batches.CsvBatchError` naming the unknown column, the names that match
    nothing or the bad option, :class:`media.errors.LimitExceeded` over the row cap; nothing is created.
    """
    try:
        options, lipsync = variant_lipsync.split_option(dict(options or {}))
        stored = VariantOptions.from_dict(options).to_dict()
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc
    plan = csv_batches.plan_rows(file, text, options)
    url = webhooks.check_url(webhook_url) if webhook_url.strip() else ""
    modes = {i: extra["options"]["audio_mode"] for i, extra in plan.extras.items()}
    return _start(plan.combos, stored, url, lipsync, variant_lipsync.charges(plan.combos, modes, lipsync),
                  plan.extras)


def _queue_batch(batch_id: str, webhook_url: str, holds: dict | None = None) -> list[str]:
    """Attach the webhook (if any) and each variant's spend hold (by variant index) to its job (made
    with the batch rows), then queue every render in one go; returns the job ids in batch order."""
    webhooks.register(batch_id, webhook_url)
    rows = batches.batch_jobs(batch_id)
    for _, _, job_id, index in rows:
        if holds and index in holds:
            holds[index].attach(job_id)
    return enqueue_batch(batch_id, rows)


def _check_voice(options: VariantOptions, hook_ids: list[str], scripts: list[str]) -> None:
    """Refuse voice-over / caption choices the batch cannot honour (before anything is created)."""
    if options.voiceover != "off" and not tts.available():
        raise InvalidInput(tts.install_hint())
    if options.voiceover != "off":
        tts.voice_path(options.voice)
    if options.voiceover == "script" and not scripts:
        raise InvalidInput("voiceover 'script' needs scripts (one text per variant, round robin)")
    if options.voiceover == "hook" and not hook_ids:
        raise InvalidInput("voiceover 'hook' needs hooks to speak")
    if options.captions == "script" and options.voiceover == "off":
        raise InvalidInput("captions 'script' shows the voice-over's words: set voiceover to hook or script")
    if options.captions != "off":
        asr.resolve_model()


def _as_video(item_id: str, options: VariantOptions, audio_ids: list[str]) -> str:
    """``item_id`` when it is a library video; a library image becomes a Ken Burns clip (a new source
    video) of ``still_duration_s`` seconds (default: the first audio's length, else 8 s)."""
    try:
        kind, item = library.find_item(item_id)
    except library.LibraryError:
        return item_id  # unknown ids are reported by create_batch
    if kind != "image":
        return item_id
    length = options.still_duration_s
    if length is None and audio_ids:
        try:
            length = library.get_item("audio", audio_ids[0]).duration_s or None
        except library.LibraryError:
            length = None
    length = min(600.0, max(1.0, length or DEFAULT_STILL_S))
    name = f"{Path(item.name).stem}_kenburns.mp4"
    with store.work_dir("kenburns-") as work:
        clip = still_to_video(store.abs_path(item.file), work / name, length, options.still_motion,
                              options.still_zoom)
        dest = store.new_file_path("videos", name)
        store.commit_file(clip, dest)
    return library.register_file(dest, "video", name).id


VARIANT_PRIORITY = 10  # variant renders go before ahead-of-time normalisations (priority 0) when the
# queue storage supports priorities (SQLite); the render normalises its own source first anyway.


def first_results_order(rows: list[tuple]) -> list[tuple]:
    """``(variant_id, video_id, job_id, ...)`` rows reordered so sources take turns: the first variant of
    every source, then every source's second, ... Two workers then normalise two different sources
    at once instead of one waiting for the other's normalisation, and the first result arrives
    after one normalisation and one render (issue 15)."""
    turn: dict[str, int] = {}
    keyed = []
    for pos, row in enumerate(rows):
        k = turn.get(row[1], 0)
        turn[row[1]] = k + 1
        keyed.append((k, pos, row))
    return [row for _, _, row in sorted(keyed, key=lambda item: item[:2])]


def enqueue_batch(batch_id: str, rows: list[tuple] | None = None) -> list[str]:
    """Enqueue the render task of every variant of a planned batch (job rows already ``queued``) and
    record the Huey task ids in one transaction; returns the job ids in batch order."""
    rows = batches.batch_jobs(batch_id) if rows is None else rows
    priority = VARIANT_PRIORITY if getattr(huey.storage, "priority", False) else None
    tasks = [render_variant_task.s(row[2], priority=priority) for row in first_results_order(rows)]
    job_store.set_task_ids({task.args[0]: task.id for task in tasks})  # before a worker can start one
    enqueue_many(tasks)
    return [row[2] for row in rows]


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
    notify_if_finished(batch_id)
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
