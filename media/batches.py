"""Variant batches in the catalog: planning rows, status, results, manifest, ZIP, expiry and keep.

A batch (``variant_batches``) holds one ``variants`` row per planned output, in batch order ``index``
(j). Rendering lives in ``media/variant_render.py``; the Huey tasks in ``jobs/variant_tasks.py``.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from media import store
from media.assignment import Combo
from media.db import get_row, session_scope, update_row
from media.errors import StudioError
from media.models import AudioFile, Hook, Job, Variant, VariantBatch, Video, utcnow
from media.settings import get_settings


class BatchError(StudioError, LookupError):
    """Unknown batch or variant, or an action its state does not allow."""


def variant_file_name(index: int, video_name: str, audio_name: str | None, hook_text: str | None) -> str:
    """``{index:03d}_{source}_{audio}_{hook}.mp4`` with safe characters only (ASCII letters, digits, ``._-``).

    Missing audio/hook parts read ``orig``/``nohook``.
    """
    parts = [
        f"{index:03d}",
        store.safe_name(Path(video_name).stem, 24, "video"),
        store.safe_name(Path(audio_name).stem, 20, "audio") if audio_name else "orig",
        store.safe_name(hook_text, 28, "hook") if hook_text else "nohook",
    ]
    return "_".join(parts) + ".mp4"


def create_batch(combos: list[Combo], options: dict[str, Any], name: str = "",
                 scripts: list[str] | None = None, extras: dict[int, dict[str, Any]] | None = None,
                 job_payload: bool = False) -> VariantBatch:
    """Insert a batch and its planned variant rows in one transaction; returns the batch.

    Each variant keeps a snapshot of its video name, audio name, hook text and voice-over script
    (``scripts`` round robin by variant index) for the manifest; ``extras`` (by variant index) adds to
    it, e.g. a CSV batch's ``row`` number and per-variant ``options`` (which then win over the batch's,
    see :func:`variant_options`). The videos, audio tracks and hooks are read with one query each (a
    500-variant plan is a handful of statements and one commit, issue 15). With ``job_payload`` every
    variant also gets its ``variant`` job row (status ``queued``, ``variant.job_id`` set, variant status
    ``queued``) in the same transaction (``one_pass`` in its payload when it is its source's only
    variant in the batch); :func:`batch_jobs` lists them for the caller to enqueue. Otherwise the
    variants are ``pending``. Raises :class:`BatchError` when an id is unknown (nothing is stored then).
    """
    now = utcnow()
    batch = VariantBatch(name=name, total=len(combos), options=options, created_at=now,
                         expires_at=now + timedelta(hours=get_settings().batch_ttl_hours))
    with session_scope() as session:
        videos = _rows_by_id(session, Video, {c.video_id for c in combos})
        audios = _rows_by_id(session, AudioFile, {c.audio_id for c in combos if c.audio_id})
        hooks = _rows_by_id(session, Hook, {c.hook_id for c in combos if c.hook_id})
        session.add(batch)
        session.flush()  # the batch row first: PostgreSQL checks the variants' foreign keys at insert
        jobs: list[Any] = []
        rows: list[Any] = []
        per_video = Counter(c.video_id for c in combos)
        for combo in combos:
            video = videos.get(combo.video_id)
            audio = audios.get(combo.audio_id) if combo.audio_id else None
            hook = hooks.get(combo.hook_id) if combo.hook_id else None
            if video is None or (combo.audio_id and audio is None) or (combo.hook_id and hook is None):
                raise BatchError(f"variant {combo.index}: unknown video, audio or hook id")
            snapshot = {"video": video.name, "audio": audio.name if audio else None,
                        "hook": hook.text if hook else None,
                        "hook_category": hook.category if hook else None,
                        "script": scripts[combo.index % len(scripts)] if scripts else None,
                        **(extras or {}).get(combo.index, {})}
            variant = Variant(batch_id=batch.id, index=combo.index, video_id=combo.video_id,
                              audio_id=combo.audio_id, hook_id=combo.hook_id, snapshot=snapshot,
                              file_name=variant_file_name(combo.index, video.name, snapshot["audio"],
                                                          snapshot["hook"]))
            if job_payload:
                job = Job(type="variant", status="queued", message="waiting for a worker",
                          reference_id=variant.id,
                          input_payload={"batch_id": batch.id, "variant_id": variant.id,
                                         "video_id": combo.video_id, "audio_id": combo.audio_id,
                                         "hook_id": combo.hook_id,
                                         # the source's only variant: may render in one pass (issue 15)
                                         "one_pass": per_video[combo.video_id] == 1})
                variant.job_id, variant.status = job.id, "queued"
                jobs.append(job)
            rows.append(variant)
        session.add_all(jobs)
        session.flush()  # jobs before the variants that name them
        session.add_all(rows)
    return batch


def variant_options(variant: Variant, batch: VariantBatch) -> dict[str, Any]:
    """The render options of one variant: its own (a CSV row's) when it has them, else the batch's."""
    return variant.snapshot.get("options") or batch.options


def _rows_by_id(session, table, ids: set[str]) -> dict[str, Any]:
    """``{id: row}`` of the ``table`` rows with these ids (one query per 500 ids)."""
    found: dict[str, Any] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i:i + 500]
        found.update((row.id, row) for row in session.exec(select(table).where(col(table.id).in_(chunk))))
    return found


def batch_jobs(batch_id: str) -> list[tuple[str, str, str, int]]:
    """``(variant_id, video_id, job_id, index)`` of the batch's variants in batch order (column-only)."""
    with session_scope() as session:
        query = (select(Variant.id, Variant.video_id, Variant.job_id, Variant.index)
                 .where(Variant.batch_id == batch_id).order_by(Variant.index))
        return [tuple(row) for row in session.exec(query)]


def get_batch(batch_id: str) -> VariantBatch:
    """The batch row; raises :class:`BatchError`."""
    return get_row(VariantBatch, batch_id, BatchError, "variant batch")


def list_batches(limit: int = 50) -> list[VariantBatch]:
    """Batches newest first."""
    with session_scope() as session:
        query = select(VariantBatch).order_by(col(VariantBatch.created_at).desc()).limit(limit)
        return list(session.exec(query))


def get_variant(variant_id: str) -> Variant:
    """One variant row; raises :class:`BatchError`."""
    return get_row(Variant, variant_id, BatchError, "variant")


def batch_variants(batch_id: str) -> list[Variant]:
    """The batch's variants in batch order."""
    with session_scope() as session:
        return list(session.exec(select(Variant).where(Variant.batch_id == batch_id).order_by(Variant.index)))


def sibling_hooks(variant_id: str) -> list[tuple[str | None, dict[str, Any]]]:
    """``(hook text, render options)`` of the variants of the same batch and source video as
    ``variant_id`` (itself included) that are not finished yet, in batch order: what a worker can render
    together for that source (:func:`media.variant_render.prepare_hook_windows`). Raises
    :class:`BatchError` for an unknown variant."""
    variant = get_variant(variant_id)
    batch = get_batch(variant.batch_id)
    with session_scope() as session:
        rows = list(session.exec(select(Variant).where(Variant.batch_id == variant.batch_id,
                                                       Variant.video_id == variant.video_id,
                                                       col(Variant.status).not_in(["completed", "canceled", "failed"]))
                                 .order_by(Variant.index)))
        hooks = _rows_by_id(session, Hook, {row.hook_id for row in rows if row.hook_id})
    return [(hooks[row.hook_id].text if row.hook_id in hooks else row.snapshot.get("hook"),
             variant_options(row, batch)) for row in rows]


def waiting_variant(video_id: str, fit: str) -> str | None:
    """The id of the earliest not yet started variant (``pending`` / ``queued``) of ``video_id`` rendered
    with ``fit``, in any batch, or None: whose hooks a normalisation made ahead can encode with it
    (:func:`sibling_hooks`)."""
    with session_scope() as session:
        rows = session.exec(select(Variant).where(Variant.video_id == video_id,
                                                  col(Variant.status).in_(["pending", "queued"]))
                            .order_by(Variant.batch_id, Variant.index)).all()
        batches_by_id = _rows_by_id(session, VariantBatch, {row.batch_id for row in rows})
        for row in rows:
            batch = batches_by_id.get(row.batch_id)
            if batch is not None and variant_options(row, batch).get("fit", "blur") == fit:
                return row.id
    return None


def update_variant(variant_id: str, **fields: Any) -> Variant:
    """Set columns of a variant row, then refresh its batch's status."""
    variant = update_row(Variant, variant_id, BatchError, "variant", **fields)
    refresh_batch_status(variant.batch_id)
    return variant


def derive_status(counts: Counter, total: int, expired: bool = False) -> str:
    """Batch status from its variants' status counts.

    expired > running (some started, not all done) > queued (none started); once all are done:
    completed (none failed; canceled variants are the creator's choice, not errors: the counts say how
    many) > canceled (every variant canceled) > failed (none completed) > completed_with_errors (some
    completed, some failed).
    """
    if expired:
        return "expired"
    finished = counts["completed"] + counts["failed"] + counts["canceled"]
    if finished < total:
        return "running" if finished or counts["processing"] else "queued"
    if counts["failed"] == 0:
        return "completed" if counts["completed"] or not total else "canceled"
    if counts["completed"] == 0:
        return "failed"
    return "completed_with_errors"


def refresh_batch_status(batch_id: str) -> VariantBatch:
    """Recompute and store a batch's status from its variants."""
    with session_scope() as session:
        batch = session.get(VariantBatch, batch_id)
        if batch is None:
            raise BatchError(f"no variant batch with id {batch_id}")
        statuses = session.exec(select(Variant.status).where(Variant.batch_id == batch_id))
        counts = Counter(statuses)
        status = derive_status(counts, batch.total, batch.status == "expired")
        if status != batch.status:
            batch.status = status
            if status in ("completed", "completed_with_errors", "failed", "canceled"):
                batch.completed_at = utcnow()
            session.add(batch)
        return batch


def batch_status(batch_id: str) -> dict[str, Any]:
    """``{batch_id, status, total, done, failed, canceled, running, created_at, expires_at, zip_ready}``."""
    batch = refresh_batch_status(batch_id)
    counts = Counter(v.status for v in batch_variants(batch_id))
    return {
        "batch_id": batch.id, "status": batch.status, "total": batch.total,
        "done": counts["completed"], "failed": counts["failed"], "canceled": counts["canceled"],
        "running": counts["processing"], "created_at": batch.created_at.isoformat(),
        "expires_at": batch.expires_at.isoformat(), "zip_ready": bool(batch.zip_file),
        "options": batch.options,
    }


def output_path(variant: Variant) -> Path | None:
    """Absolute path of a finished variant's file, or None."""
    return output_files(variant)[0]


def output_files(variant: Variant) -> tuple[Path | None, Path | None]:
    """Absolute paths of a finished variant's video and of its thumbnail (a 9:16 JPEG frame), or None."""
    if not variant.output_video_id:
        return None, None
    with session_scope() as session:
        video = session.get(Video, variant.output_video_id)
    if video is None:
        return None, None
    return store.abs_path(video.file), store.abs_path(video.thumbnail) if video.thumbnail else None


def batch_results(batch_id: str) -> list[dict[str, Any]]:
    """One dict per variant in batch order: index, variant_id, video_id, audio_id, hook_id, status, error,
    file_name (its name in the ZIP), output_video_id, file_path and thumbnail_path (when finished; the
    thumbnail is a JPEG frame of the 9:16 video), render_path, snapshot, script,
    caption_file (the .srt beside the video in the ZIP, or None without captions), warning (a text when
    the variant cannot show what was asked, e.g. a hook that starts after the video ends; else None)."""
    batch = get_batch(batch_id)
    variants = batch_variants(batch_id)
    warnings = _hook_warnings(batch, variants)
    results = []
    for v in variants:
        path, thumb = output_files(v) if v.status == "completed" else (None, None)
        results.append({
            "index": v.index, "variant_id": v.id, "video_id": v.video_id, "audio_id": v.audio_id,
            "hook_id": v.hook_id, "status": v.status, "error": v.error, "file_name": v.file_name,
            "output_video_id": v.output_video_id, "file_path": str(path) if path else None,
            "thumbnail_path": str(thumb) if thumb else None,
            "render_path": v.render_path, "video": v.snapshot.get("video"),
            "audio": v.snapshot.get("audio"), "hook": v.snapshot.get("hook"),
            "script": v.snapshot.get("script"), "caption_file": v.snapshot.get("caption_file"),
            "warning": warnings.get(v.id),
        })
    return results


def _hook_warnings(batch: VariantBatch, variants: list[Variant]) -> dict[str, str]:
    """Variant id -> warning for variants whose hook starts at or after their source video's end (the
    render shows no hook then). Source durations come from the ``videos`` rows, in one query."""
    start = float((batch.options or {}).get("hook_start_s") or 0.0)
    if start <= 0:
        return {}
    ids = {v.video_id for v in variants if v.hook_id}
    with session_scope() as session:
        durations = {row.id: row.duration_s for row in session.exec(select(Video).where(col(Video.id).in_(ids)))}
    return {v.id: (f"the hook starts at {start:g} s but the video is {durations[v.video_id]:.1f} s long: "
                   "no hook is shown")
            for v in variants if v.hook_id and 0 < durations.get(v.video_id, 0.0) <= start}


def build_manifest(batch_id: str) -> dict[str, Any]:
    """The ZIP's ``manifest.json``: batch info and ``files``: file name -> video, audio, hook, options."""
    batch = get_batch(batch_id)
    files = {}
    for v in batch_variants(batch_id):
        if v.status != "completed":
            continue
        files[v.file_name] = {
            "index": v.index, "variant_id": v.id,
            "video": {"id": v.video_id, "name": v.snapshot.get("video")},
            "audio": {"id": v.audio_id, "name": v.snapshot.get("audio")} if v.audio_id else None,
            "hook": ({"id": v.hook_id, "text": v.snapshot.get("hook"),
                      "category": v.snapshot.get("hook_category")} if v.hook_id else None),
            "row": v.snapshot.get("row"),
            "options": variant_options(v, batch), "render_path": v.render_path,
            "script": v.snapshot.get("script"), "captions": v.snapshot.get("caption_file"),
        }
    return {"batch_id": batch.id, "created_at": batch.created_at.isoformat(),
            "expires_at": batch.expires_at.isoformat(), "total": batch.total, "files": files}


def write_zip(batch_id: str, dest: Path) -> int:
    """Write a ZIP of the batch's finished variants plus ``manifest.json`` to ``dest``.

    Videos are stored uncompressed (MP4 does not compress further). Returns the number of videos.
    Raises :class:`BatchError` when no variant has finished.
    """
    manifest = build_manifest(batch_id)
    if not manifest["files"]:
        raise BatchError("no finished variant to put in a ZIP yet")
    with zipfile.ZipFile(dest, "w") as archive:
        for v in batch_variants(batch_id):
            if v.file_name in manifest["files"]:
                video = output_path(v)
                archive.write(video, arcname=v.file_name, compress_type=zipfile.ZIP_STORED)
                caption = v.snapshot.get("caption_file")
                if caption and (video.parent / caption).is_file():
                    archive.write(video.parent / caption, arcname=caption, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False),
                         compress_type=zipfile.ZIP_DEFLATED)
    return len(manifest["files"])


def zip_rel_path(batch: VariantBatch) -> str:
    """Where the batch's ZIP is stored: ``zips/<batch id>/<YYYY-MM-DD_HHMM>_<batch name>.zip`` (UTC
    creation time; name ``batch`` when the batch has none), so the browser downloads it under that name."""
    stamp = batch.created_at.strftime("%Y-%m-%d_%H%M")
    return f"zips/{batch.id}/{stamp}_{store.safe_name(batch.name or '', 48, 'batch')}.zip"


def set_zip(batch_id: str, rel: str | None) -> None:
    """Record (or clear) the batch's ZIP file; a replaced ZIP's file is deleted."""
    old = get_batch(batch_id).zip_file
    update_row(VariantBatch, batch_id, BatchError, "variant batch", zip_file=rel)
    if old and old != rel:
        store.remove_files(old)


def set_zip_job(batch_id: str, job_id: str) -> None:
    """Record the job that builds the batch's ZIP."""
    update_row(VariantBatch, batch_id, BatchError, "variant batch", zip_job_id=job_id)


def keep_variant(variant_id: str) -> str:
    """Move a finished variant into the library (survives expiry); returns its library video id."""
    variant = get_variant(variant_id)
    if variant.status != "completed" or not variant.output_video_id:
        raise BatchError("only a finished variant can be kept")
    with session_scope() as session:
        video = session.get(Video, variant.output_video_id)
        src = store.abs_path(video.file)
        dest = store.new_file_path("videos", variant.file_name)
        store.commit_file(src, dest)
        video.file = store.rel_path(dest)
        video.kept = True
        video.updated_at = utcnow()
        session.add(video)
        return video.id


def expired_batch_ids(now: datetime | None = None) -> list[str]:
    """Ids of batches past ``expires_at`` and not yet expired."""
    now = now or utcnow()
    with session_scope() as session:
        query = select(VariantBatch.id).where(VariantBatch.expires_at <= now,
                                              VariantBatch.status != "expired")
        return list(session.exec(query))


def expire_batch(batch_id: str) -> int:
    """Delete an expired batch's files, variant rows and un-kept variant videos; keep the batch row
    with status ``expired``. Returns how many videos were deleted."""
    deleted = 0
    with session_scope() as session:
        batch = session.get(VariantBatch, batch_id)
        if batch is None:
            raise BatchError(f"no variant batch with id {batch_id}")
        for video in session.exec(select(Video).where(Video.batch_id == batch_id)):
            if video.kept:
                continue
            store.remove_files(video.file, video.thumbnail)
            session.delete(video)
            deleted += 1
        for variant in session.exec(select(Variant).where(Variant.batch_id == batch_id)):
            session.delete(variant)
        store.remove_files(batch.zip_file, f"variants/{batch_id}", f"zips/{batch_id}")
        batch.zip_file = None
        batch.status = "expired"
        session.add(batch)
    return deleted
