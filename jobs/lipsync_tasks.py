"""Lip-sync jobs: a library face video plus a library audio track give a lip-synced library video on fal
(providers of tool ``lipsync`` in :mod:`jobs.providers`: ``sync_lipsync``).

:func:`estimate_lipsync` gives the cost first (price x min(video, audio) seconds, the output length of
``cut_off``); :func:`create_lipsync` reserves it against the daily limit, then queues one job. The task
uploads both files, submits (or re-attaches after a restart), follows, downloads and catalogs a
``lipsync`` video with ``parent_video_id``; the cost (from the output's duration) lands in
``cost_records``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs import fal
from jobs.fal_jobs import run_request
from jobs.providers import get_provider
from jobs.queue import huey
from jobs.recovery import register_recovery
from jobs.runner import register_task, run_job, submit
from media import job_store, store
from media.costs import spend_reservation
from media.errors import NotFound
from media.library import LibraryError, get_item, register_file
from media.models import AudioFile, Job, Video

JOB_TYPE = "lipsync"


def _item(kind: str, item_id: str) -> Video | AudioFile:
    try:
        row = get_item(kind, item_id)
    except LibraryError:
        raise NotFound(f"no library {kind} with id {item_id}") from None
    if not store.abs_path(row.file).is_file():
        raise NotFound(f"the file of {kind} {row.name} is missing from the media folder")
    return row


def estimate_lipsync(video_id: str, audio_id: str, provider: str = "sync_lipsync") -> dict[str, Any]:
    """Cost before starting: ``{provider, label, estimate_cents, billed_s, price_source}`` (seconds:
    min(video, audio) duration). Raises :class:`NotFound` / :class:`InvalidInput`."""
    chosen = get_provider("lipsync", provider)
    video, audio = _item("video", video_id), _item("audio", audio_id)
    facts = {"video_s": video.duration_s, "audio_s": audio.duration_s}
    return {"provider": chosen.id, "label": chosen.label, "estimate_cents": chosen.estimate_cents({}, facts),
            "billed_s": round(chosen.billed_units({}, facts), 3), "price_source": chosen.current_price().source}


def create_lipsync(video_id: str, audio_id: str, provider: str = "sync_lipsync") -> dict[str, Any]:
    """Queue a lip-sync job; returns ``{job_id, estimate_cents}``. The estimate is reserved against the
    daily limit first. Raises :class:`NotFound` (unknown video/audio), :class:`InvalidInput` (unknown
    provider), :class:`jobs.fal.FalError` (no FAL_KEY), ``SpendLimitExceeded``."""
    estimate = estimate_lipsync(video_id, audio_id, provider)
    fal.require_key()
    with spend_reservation(JOB_TYPE, estimate["estimate_cents"]) as hold:
        job = job_store.create_job(JOB_TYPE, {"video_id": video_id, "audio_id": audio_id,
                                              "provider": estimate["provider"],
                                              "estimate_cents": estimate["estimate_cents"]},
                                   reference_id=video_id)
        hold.attach(job.id)
        submit(job.id, lipsync_task)
    return {"job_id": job.id, "estimate_cents": estimate["estimate_cents"]}


def run_lipsync(job_id: str) -> dict[str, Any]:
    """The work of one lip-sync job; returns ``{result_ids: [video_id], request_id, cost_cents}``."""
    payload = job_store.get_job(job_id).input_payload
    chosen = get_provider("lipsync", payload["provider"])
    video, audio = _item("video", payload["video_id"]), _item("audio", payload["audio_id"])
    with store.work_dir("lipsync-") as tmp:
        def uploads(client) -> dict[str, str]:
            job_store.report_progress(job_id, 2, "uploading the video to fal")
            video_url = fal.upload_file(client, store.abs_path(video.file))
            job_store.report_progress(job_id, 6, "uploading the audio to fal")
            return {"video": video_url, "audio": fal.upload_file(client, store.abs_path(audio.file))}

        out, info, request_id = run_request(job_id, chosen, uploads, {}, tmp / "lipsync.mp4")
        cost = chosen.current_price().cents(info.duration_s)
        job_store.record_cost(job_id, JOB_TYPE, cost, f"{chosen.label}: {info.duration_s:.1f} s of "
                              f"{video.name} with {audio.name}")
        job_store.check_canceled(job_id)
        name = f"{Path(video.name).stem} - lipsync {Path(audio.name).stem}.mp4"
        dest = store.commit_file(out, store.new_file_path("videos", name, ".mp4"))
        row = register_file(dest, "video", name, type="lipsync", parent_video_id=video.id,
                            face_image_id=video.face_image_id, collection_id=video.collection_id)
    return {"result_ids": [row.id], "request_id": request_id, "cost_cents": cost, "provider": chosen.id}


@huey.task()
def lipsync_task(job_id: str) -> str:
    """Huey task: run lip-sync job ``job_id`` (see :func:`run_lipsync`)."""
    return run_job(job_id, lambda: run_lipsync(job_id))


def _recover(job: Job) -> bool:
    """After a restart: re-queue; the task re-attaches to the stored fal request."""
    submit(job.id, lipsync_task)
    return True


register_recovery(JOB_TYPE, _recover)
register_task(JOB_TYPE, lipsync_task)
