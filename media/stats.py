"""The dashboard's numbers: catalog counts, storage used per kind, active and recent jobs, spend.

Every number comes from the catalog rows: counts, and the file sizes recorded at import or render
(:func:`storage_by_kind`); only the media folder's total is measured on disk, at most every few
minutes (issue 15: a 10,000-item library opens the Dashboard instantly).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from media import costs, store
from media.db import session_scope
from media.job_store import list_jobs
from media.models import (
    ACTIVE_JOB_STATUSES,
    FINAL_JOB_STATUSES,
    AudioFile,
    CharacterDiagram,
    Hook,
    Image,
    Job,
    LoraModel,
    Video,
)


def _in_library():
    """Videos the Library lists: everything but batch variants that were not kept (they expire)."""
    return col(Video.batch_id).is_(None) | (col(Video.kept) == True)


def _batch_variant():
    """Videos rendered into a variant batch and not kept in the library."""
    return col(Video.batch_id).is_not(None) & (col(Video.kept) == False)


# kind -> (table, file columns whose files count towards that kind, row filter or None). Characters come
# before images: a diagram's file is also its library image's, and counts once, under characters.
_KINDS: dict[str, tuple[type, tuple[str, ...], Any]] = {
    "videos": (Video, ("file", "thumbnail"), _in_library),
    "variants": (Video, ("file", "thumbnail"), _batch_variant),
    "audios": (AudioFile, ("file",), None),
    "characters": (CharacterDiagram, ("file", "thumbnail"), None),
    "images": (Image, ("file", "thumbnail"), None),
    "models": (LoraModel, ("weights_file", "high_noise_file", "config_file", "training_images_file",
                           "thumbnail"), None),
}
COUNTED_KINDS: tuple[str, ...] = ("videos", "variants", "audios", "hooks", "images", "models", "characters")


@dataclass(frozen=True)
class JobLine:
    """One job as the dashboard lists it (times ISO 8601, UTC)."""

    id: str
    type: str
    status: str
    progress: int
    message: str
    error: str | None
    cost_cents: int
    created_at: str
    completed_at: str | None


def count_rows() -> dict[str, int]:
    """Rows per kind: videos (those Library > Videos lists), variants (batch variants not kept, which
    expire), audios, hooks, images, models (LoRA), characters (diagrams)."""
    tables = {"videos": (Video, _in_library), "variants": (Video, _batch_variant), "audios": (AudioFile, None),
              "hooks": (Hook, None), "images": (Image, None), "models": (LoraModel, None),
              "characters": (CharacterDiagram, None)}
    with session_scope() as session:
        counts = {}
        for kind, (table, where) in tables.items():
            query = select(func.count()).select_from(table)
            counts[kind] = int(session.exec(query.where(where()) if where else query).one())
        return counts


def count_videos_by_type() -> dict[str, int]:
    """Library videos (those ``count_rows()["videos"]`` counts) per type (source, face_swapped, variant
    = kept variants, ...); batch variants not kept are ``count_rows()["variants"]``."""
    with session_scope() as session:
        rows = session.exec(select(Video.type, func.count()).where(_in_library()).group_by(Video.type))
        return {video_type: int(n) for video_type, n in rows}


def _file_size(rel: str | None) -> int:
    if not rel:
        return 0
    try:
        path = store.abs_path(rel)
        return path.stat().st_size if path.is_file() else store_dir_size(path)
    except (store.StoreError, OSError):
        return 0


def store_dir_size(path) -> int:
    """Bytes of the files under a folder (a stored "file" may be a folder, e.g. a dataset)."""
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0


def _stored_paths(table: type, columns: Iterable[str], where: Any = None) -> list[str]:
    with session_scope() as session:
        query = select(*(getattr(table, c) for c in columns))
        rows = session.exec(query.where(where()) if where else query)
        paths: list[str] = []
        for row in rows:
            values = (row,) if row is None or isinstance(row, str) else tuple(row)
            paths.extend(v for v in values if isinstance(v, str) and v)
        return paths


def _not_a_diagram():
    """Library images that are not a character diagram's (those count under characters)."""
    return col(Image.character_diagram_id).is_(None)


# kind -> (table, row filter or None) summed from the sizes the catalog recorded for the rows' files
_CATALOG_SIZED: dict[str, tuple[type, Any]] = {"videos": (Video, _in_library), "variants": (Video, _batch_variant),
                                               "audios": (AudioFile, None), "images": (Image, _not_a_diagram)}
_ON_DISK = ("characters", "models")  # few rows: their files are measured on disk
FOLDER_WALK_TTL_S = 300.0  # the whole-folder total is measured at most this often (seconds)
_walk_cache: dict[str, tuple[float, int]] = {}


def media_folder_bytes(max_age_s: float = FOLDER_WALK_TTL_S) -> int:
    """Bytes of every file in the media folder, measured by a walk at most every ``max_age_s``
    seconds (a library of 10,000 files is not walked on every Dashboard open, issue 15)."""
    root = store.media_root()
    now = time.monotonic()
    cached = _walk_cache.get(str(root))
    if cached is not None and now - cached[0] < max_age_s:
        return cached[1]
    total = store_dir_size(root)
    _walk_cache[str(root)] = (now, total)
    return total


def storage_by_kind(max_age_s: float = FOLDER_WALK_TTL_S) -> dict[str, int]:
    """Bytes per kind. Videos (those the Library lists), variants (batch variants not kept), audio and
    images: the sizes the catalog recorded for their files at import or render (one SQL sum each, no
    file is opened). Characters (diagrams) and models (few rows): their files on disk, each counted once
    and not again when it is also a library item; a diagram's library image counts under characters.

    Also ``total`` (the whole media folder, see :func:`media_folder_bytes`) and ``other`` (what no
    row counts: thumbnails of library items, caches, batch ZIPs, work in progress, exports).
    """
    sizes: dict[str, int] = {}
    counted: set[str] = set()
    with session_scope() as session:
        for kind, (table, where) in _CATALOG_SIZED.items():
            query = select(func.coalesce(func.sum(table.size_bytes), 0))
            sizes[kind] = int(session.exec(query.where(where()) if where else query).one())
            files = select(table.file).where(table.size_bytes > 0)
            counted.update(session.exec(files.where(where()) if where else files))
    for kind in _ON_DISK:
        table, columns, where = _KINDS[kind]
        total = 0
        for rel in _stored_paths(table, columns, where):
            if rel not in counted:
                counted.add(rel)
                total += _file_size(rel)
        sizes[kind] = total
    whole = media_folder_bytes(max_age_s)
    sizes["other"] = max(0, whole - sum(sizes.values()))
    sizes["total"] = whole
    return sizes


def _job_line(job: Job) -> JobLine:
    return JobLine(job.id, job.type, job.status, job.progress, job.message, job.error_message,
                   job.cost_cents, job.created_at.isoformat(timespec="seconds"),
                   job.completed_at.isoformat(timespec="seconds") if job.completed_at else None)


def active_jobs(limit: int = 50) -> list[JobLine]:
    """Jobs pending, queued or processing, newest first."""
    return [_job_line(job) for job in list_jobs(statuses=ACTIVE_JOB_STATUSES, limit=limit)]


def recent_jobs(limit: int = 10) -> list[JobLine]:
    """The latest finished jobs (completed, failed, canceled), newest first, with their errors."""
    return [_job_line(job) for job in list_jobs(statuses=FINAL_JOB_STATUSES, limit=limit)]


def human_bytes(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'`` (binary units)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def collect_stats(recent: int = 10) -> dict[str, Any]:
    """Everything the dashboard shows, JSON-ready.

    Shape: ``{"counts": {videos, variants, audios, hooks, images, models, characters},
    "videos_by_type": {type: n}, "storage_bytes": {videos, variants, audios, characters, images, models,
    other, total}, "active_jobs": [JobLine...], "recent_jobs": [JobLine...], "spend": {today_cents,
    month_cents, limit: {environment, ui, effective}, left_today_cents}}``.
    """
    return {
        "counts": count_rows(),
        "videos_by_type": count_videos_by_type(),
        "storage_bytes": storage_by_kind(),
        "active_jobs": [asdict(line) for line in active_jobs()],
        "recent_jobs": [asdict(line) for line in recent_jobs(recent)],
        "spend": costs.limit_summary(),
    }
