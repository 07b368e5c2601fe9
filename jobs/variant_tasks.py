"""Huey tasks of the Variant Generator: render one variant, build a batch's ZIP, normalise a source,
and the periodic clean-up of expired batches. Submission functions live in ``jobs/variants.py``."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from huey import crontab

from jobs import variant_lipsync, voices
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import register_end_handler, register_task, run_job, submit
from media import batches, job_store, store, webhooks
from media.db import session_scope
from media.library import purge_trash, register_file
from media.models import AudioFile, Hook, Job, Video
from media.normalize import cached_normalized, prune_cache
from media.settings import get_settings
from media.subtitles import to_srt
from media.variant_render import (
    VariantOptions,
    normalize_video,
    one_pass_better,
    prepare_source,
    render_variant,
    variant_facts,
    variant_thumbnail,
)
from media.work_lock import work_lock

log = logging.getLogger(__name__)


def cache_root(video_id: str) -> Path:
    """Folder of a source video's normalised copies and hook segments (removed with the video)."""
    path = store.media_root() / "cache" / video_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_cache() -> Path:
    """Cache shared by every source: caption bands (hooks/captions), voice-overs (audio/voices); pruned
    like the per-video caches."""
    path = store.media_root() / "cache" / "_shared"
    path.mkdir(parents=True, exist_ok=True)
    return path


NORMALIZE_LOCK = "normalize:{video_id}:{fit}"
"""Key of the farm-wide lock (``media.work_lock``) held while one source is normalised for one fit."""


def normalized_for(video: Video, fit: str, progress=None, scratch: Path | None = None, windows=None):
    """The video's canonical copy for ``fit``, made once across the farm: a worker holding the catalog
    lock :data:`NORMALIZE_LOCK` makes it (in ``scratch`` when given, then moved into the shared cache,
    with the hook windows ``windows`` asks for, :class:`media.normalize.WindowRequest`); the others
    wait for it, then find it cached."""
    source, root = store.abs_path(video.file), cache_root(video.id)
    found = cached_normalized(source, fit, root)
    if found is not None:
        if progress:
            progress(100.0, "source normalised")
        return found
    waiting = (lambda: progress(0.0, "waiting for another worker to normalise the source")) if progress else None
    with work_lock(NORMALIZE_LOCK.format(video_id=video.id, fit=fit), waiting=waiting):
        return normalize_video(source, fit, root, progress, scratch=scratch, windows=windows)


def _prepare_for_batch(job_id: str, video: Video, fit: str, variant_id: str, work: Path, split: float,
                       windows_end: float):
    """The video's copy for ``fit`` with the hook windows of ``variant_id``'s batch siblings
    (:func:`media.variant_render.prepare_source`): progress 0-``split`` for the copy, then up to
    ``windows_end`` for the windows encoded together afterwards. Returns the copy."""
    siblings = [(text, VariantOptions.from_dict(opts)) for text, opts in batches.sibling_hooks(variant_id)]
    return prepare_source(lambda windows: normalized_for(video, fit, _progress(job_id, 0, split), scratch=work,
                                                         windows=windows),
                          siblings, cache_root(video.id), work, progress=_progress(job_id, split, windows_end))


def variant_video_id(variant_id: str) -> str:
    """Catalog id of a variant's output video, derived from the variant (UUID5): a re-run of the
    variant's job (its worker died, a retry) replaces that one row instead of adding another."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"novai-variant-output:{variant_id}").hex


def _progress(job_id: str, low: float, high: float):
    """A progress callback mapping 0-100 onto ``low``..``high`` of the job's bar."""
    def report(percent: float, message: str) -> None:
        job_store.report_progress(job_id, low + (high - low) * max(0.0, min(100.0, percent)) / 100, message)
    return report


def _render(job_id: str, variant_id: str) -> dict:
    variant = batches.get_variant(variant_id)
    batch = batches.get_batch(variant.batch_id)
    options = VariantOptions.from_dict(batches.variant_options(variant, batch))
    with session_scope() as session:
        video = session.get(Video, variant.video_id)
        audio = session.get(AudioFile, variant.audio_id) if variant.audio_id else None
        hook = session.get(Hook, variant.hook_id) if variant.hook_id else None
    if video is None:
        raise FileNotFoundError(f"source video of variant {variant.index} was deleted")
    batches.update_variant(variant_id, status="processing", error=None)
    source = store.abs_path(video.file)
    audio_path = store.abs_path(audio.file) if audio else None
    # the planner found it its source's only variant; captions and voice-overs need the normalised copy
    one_pass = (bool(job_store.get_job(job_id).input_payload.get("one_pass")) and audio_path is not None
                and options.captions == "off" and options.voiceover == "off"
                and one_pass_better(source, options.fit, options.audio_mode, cache_root(video.id)))
    hook_text = hook.text if hook else variant.snapshot.get("hook")
    dest = store.media_root() / "variants" / batch.id / variant.file_name
    with store.work_dir("variant-") as work:  # this machine's scratch; only finished files reach dest
        norm = None
        if not one_pass:  # the hook windows of this source's variants with its normalisation, or together
            norm = _prepare_for_batch(job_id, video, options.fit, variant_id, work, 60, 70)
        voice = voices.voice_for(options, hook_text, variant.snapshot.get("script"), shared_cache())
        words = [] if norm is None else voices.caption_words(options, video, audio, voice, norm.duration_s,
                                                              hook_text, variant.snapshot.get("script"))
        out = work / variant.file_name
        result = render_variant(source, audio_path, hook_text, options, out, cache_root(video.id),
                                _progress(job_id, 0 if one_pass else 60, 99), words=words, voice=voice,
                                shared_cache=shared_cache(), one_pass=one_pass, scratch=work)
        job_store.check_canceled(job_id)  # canceled during the last step: keep no output
        lipsynced = bool(variant.snapshot.get("lipsync") and audio_path and options.audio_mode == "replace")
        if lipsynced:
            variant_lipsync.apply(job_id, variant.snapshot["lipsync"], out, audio_path, variant.file_name)
        caption_file = None
        if words:
            srt = out.with_suffix(".srt")
            srt.write_text(to_srt(words), encoding="utf-8")
            store.commit_file(srt, dest.with_suffix(".srt"))
            caption_file = srt.name
        store.commit_file(out, dest)  # same name on every run: a re-run replaces the file
        result.path = dest
        # the output row's id is derived from the variant: a re-run replaces it (and its thumbnail)
        if lipsynced:  # the file changed after rendering: catalog it from the file itself
            row = register_file(dest, "video", variant.file_name, type="variant", batch_id=batch.id,
                                parent_video_id=video.id, row_id=variant_video_id(variant_id))
        else:
            row = register_file(dest, "video", variant.file_name, facts=variant_facts(result),  # no re-decoding
                                thumbnail=lambda thumb: variant_thumbnail(result, thumb), type="variant",
                                batch_id=batch.id, parent_video_id=video.id, row_id=variant_video_id(variant_id))
    batches.update_variant(variant_id, status="completed", output_video_id=row.id,
                           render_path=result.render_path, error=None,
                           snapshot={**variant.snapshot, "caption_file": caption_file})
    return {"result_ids": [row.id], "variant_id": variant_id, "render_path": result.render_path,
            "wall_s": round(result.wall_s, 3), "reencoded_s": round(result.reencoded_s, 3)}


@huey.task()
def render_variant_task(job_id: str) -> str:
    """Render the variant named by the job's ``input_payload["variant_id"]``."""
    payload = job_store.get_job(job_id).input_payload
    variant_id = payload["variant_id"]
    outcome = run_job(
        job_id, lambda: _render(job_id, variant_id),
        on_failure=lambda message: batches.update_variant(variant_id, status="failed", error=message),
        on_cancel=lambda: batches.update_variant(variant_id, status="canceled", error="canceled"),
    )
    notify_if_finished(payload["batch_id"])
    return outcome


def notify_if_finished(batch_id: str) -> bool:
    """Queue the batch's completion webhook once the batch has finished; True when it was queued.

    Never raises: a notice that cannot be queued is logged and never fails the variant's job."""
    try:
        if webhooks.claim_if_finished(batch_id) is None:
            return False
        deliver_webhook_task(batch_id)
    except batches.BatchError:  # the batch expired or was removed meanwhile
        return False
    except Exception:  # the render's outcome is already recorded; the notice must not undo it
        log.exception("could not queue the webhook of batch %s", batch_id)
        return False
    return True


@huey.task()
def deliver_webhook_task(batch_id: str) -> str:
    """POST the finished batch's notice to its webhook (retried with backoff, see media/webhooks.py)."""
    return webhooks.deliver(batch_id).status


def _build_zip(batch_id: str) -> dict:
    dest = store.abs_path(batches.zip_rel_path(batches.get_batch(batch_id)))
    with store.work_dir("zip-") as work:
        tmp = work / dest.name
        count = batches.write_zip(batch_id, tmp)
        store.commit_file(tmp, dest)
    batches.set_zip(batch_id, store.rel_path(dest))
    return {"zip": store.rel_path(dest), "videos": count}


@huey.task()
def build_zip_task(job_id: str) -> str:
    """Build the ZIP (+ manifest.json) of the batch named by ``input_payload["batch_id"]``."""
    batch_id = job_store.get_job(job_id).input_payload["batch_id"]
    return run_job(job_id, lambda: _build_zip(batch_id))


def _normalize(job_id: str, video_id: str, fit: str) -> dict:
    with session_scope() as session:
        video = session.get(Video, video_id)
    if video is None:
        raise FileNotFoundError(f"video {video_id} was deleted")
    waiting = batches.waiting_variant(video_id, fit)
    if waiting is None:
        normalized_for(video, fit, _progress(job_id, 0, 100))
    else:  # a batch already waits for this video: its hook windows are encoded in the same run
        with store.work_dir("normalize-") as work:
            _prepare_for_batch(job_id, video, fit, waiting, work, 90, 100)
    return {"video_id": video_id, "fit": fit}


@huey.task()
def normalize_video_task(job_id: str) -> str:
    """Make the canonical copy of ``input_payload["video_id"]`` for ``input_payload["fit"]`` ahead of use."""
    payload = job_store.get_job(job_id).input_payload
    return run_job(job_id, lambda: _normalize(job_id, payload["video_id"], payload.get("fit", "blur")))


@huey.periodic_task(crontab(minute="*/10"))
def expire_batches_task() -> int:
    """Every 10 minutes: delete expired batches' files and rows (kept variants stay in the library)."""
    expired = batches.expired_batch_ids()
    for batch_id in expired:
        deleted = batches.expire_batch(batch_id)
        log.info("expired batch %s: %d variant videos deleted", batch_id, deleted)
    prune_caches(get_settings().batch_ttl_hours * 3600)
    purge_trash()
    return len(expired)


def prune_caches(max_age_s: float) -> int:
    """Drop normalised copies, hook segments and audio tracks unused for ``max_age_s`` seconds
    (they are remade on demand); returns the bytes freed."""
    root = store.media_root() / "cache"
    if not root.is_dir():
        return 0
    return sum(prune_cache(folder, max_age_s) for folder in root.iterdir() if folder.is_dir())


def _requeue(job: Job) -> bool:
    """Interrupted renders and ZIPs are safe to run again from the start."""
    job_store.update_job(job.id, status="pending", progress=0, message="re-queued after a restart")
    submit(job.id, _TASK_BY_TYPE[job.type])
    return True


def _end_variant(job_id: str, status: str, message: str | None, payload: dict) -> None:
    """A variant job ended by the outcome sweep (the catalog refused the end at first): its variant too."""
    batches.update_variant(payload["variant_id"], status=status, error=message or status)


register_end_handler("variant", _end_variant)

_TASK_BY_TYPE = {"variant": render_variant_task, "variant_zip": build_zip_task, "normalize": normalize_video_task}
for _job_type, _task in _TASK_BY_TYPE.items():
    register_task(_job_type, _task)
    register_recovery(_job_type, _requeue)
