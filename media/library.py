"""The library of stored media: import (validated by content), list, rename, move, delete.

Each import copies the file into the media folder under a fresh name, probes it, makes a thumbnail and
inserts the row; on any failure nothing is stored. Deletes remove files and rows together and are
refused while an active job uses the item.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image as PILImage
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from media import store
from media.collections import resolve_collection
from media.db import get_row, session_scope, update_row
from media.errors import StudioError
from media.models import ACTIVE_JOB_STATUSES, AudioFile, Hook, Image, Job, Video
from media.probe import MediaError, MediaInfo, probe
from media.thumbnails import image_thumbnail, video_thumbnail
from media.validate import NAME_MAX_CHARS, display_name

MediaKind = Literal["video", "audio", "image"]
MEDIA_KINDS: tuple[str, ...] = ("video", "audio", "image")
TABLES = {"video": Video, "audio": AudioFile, "image": Image}
FOLDERS = {"video": "videos", "audio": "audio", "image": "images"}
MAX_IMAGE_PIXELS = 64_000_000  # refuse larger images (decompression-bomb guard), pixels


class LibraryError(StudioError, ValueError):
    """A library action that cannot be done; the message says why."""


@dataclass
class ImportOutcome:
    """Result of importing one file: ``id`` when stored, ``error`` when refused."""

    name: str
    id: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "error": self.error}


def _check_kind(kind: str) -> str:
    if kind not in MEDIA_KINDS:
        raise LibraryError(f"unknown media kind {kind!r}; use video, audio or image")
    return kind


def check_image(path: Path, name: str) -> tuple[int, int, str]:
    """Validate an image by content; returns (width, height, format).

    Raises :class:`MediaError` for non-images, truncated files and decompression bombs
    (more than :data:`MAX_IMAGE_PIXELS` pixels).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as image:
                width, height, fmt = image.width, image.height, image.format or ""
                if width * height > MAX_IMAGE_PIXELS:
                    raise MediaError(f"image too large ({width}x{height} pixels): {name}")
                image.verify()
            with PILImage.open(path) as image:
                image.load()
    except MediaError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise MediaError(f"image too large (decompression bomb guard): {name}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"not a valid image (or damaged/truncated): {name}") from exc
    return width, height, fmt


def _probe_kind(path: Path, kind: str, name: str, check_limits: bool = False) -> MediaInfo:
    info = probe(path, check_limits=check_limits and kind == "video")
    if kind == "video" and not info.has_video:
        raise MediaError(f"file has no video stream: {name}")
    if kind == "audio" and not info.has_audio:
        raise MediaError(f"file has no audio stream: {name}")
    return info


def import_file(src: str | Path, kind: str, collection: str = "", name: str | None = None) -> ImportOutcome:
    """Validate ``src`` by content and store it as a library item of ``kind``.

    ``name`` defaults to the file's name; ``collection`` is a collection id or name (created if new).
    Never raises for bad media: the outcome carries ``error`` naming the file and the reason.
    """
    src = Path(src)
    display = (name or src.name)[:NAME_MAX_CHARS]
    try:
        _check_kind(kind)
        if src.stat().st_size == 0:
            raise MediaError(f"empty file: {display}")
        return ImportOutcome(display, id=_import_checked(src, kind, collection, display))
    except (MediaError, LibraryError, ValueError) as exc:
        return ImportOutcome(display, error=str(exc))
    except OSError as exc:  # a full disk, a read-only folder or catalog: say so, without server paths
        return ImportOutcome(display, error=f"could not store {display}: {store.readable_os_error(exc)}")


def _check(path: Path, kind: str, name: str, check_limits: bool = False) -> MediaInfo | tuple[int, int, str]:
    """Validate by content: probe facts of a video/audio, (width, height, format) of an image.

    ``check_limits``: refuse a video over the size/length limits (``media.probe.check_video_limits``).
    """
    return check_image(path, name) if kind == "image" else _probe_kind(path, kind, name, check_limits)


def _import_checked(src: Path, kind: str, collection: str, display: str) -> str:
    facts = _check(src, kind, display, check_limits=True)
    coll = resolve_collection(collection, kind) if collection else None
    dest = store.new_file_path(FOLDERS[kind], display)
    # Copied under tmp/ and renamed into place (same filesystem): a copy killed mid-way leaves nothing
    # in the library folder, only scratch that start-up removes (media.store.clean_scratch).
    with store.work_dir("import-") as work:
        partial = work / dest.name
        shutil.copyfile(src, partial)
        store.commit_file(partial, dest)
    try:
        return _catalog(dest, kind, display, facts, collection_id=coll.id if coll else None).id
    except Exception:
        dest.unlink(missing_ok=True)
        raise


def _catalog(path: Path, kind: str, name: str, facts: MediaInfo | tuple[int, int, str],
             thumbnail=None, **fields: Any) -> Video | AudioFile | Image:
    """Thumbnail a checked file inside the media folder and insert its row (``fields`` set extra columns).

    ``thumbnail(dest) -> dest`` makes the thumbnail instead of decoding the file. On failure the
    thumbnail is removed again; the file itself is the caller's.
    """
    thumb: Path | None = None
    info = None if kind == "image" else facts
    try:
        if thumbnail is not None:
            thumb = thumbnail(store.new_file_path("thumbnails", name, ".jpg"))
        elif kind == "video":
            thumb = video_thumbnail(path, info.duration_s, store.new_file_path("thumbnails", name, ".jpg"))
        elif kind == "image":
            thumb = image_thumbnail(path, store.new_file_path("thumbnails", name, ".jpg"))
        row = _make_row(kind, name, path, thumb, info, fields.pop("collection_id", None))
        if kind == "image":
            row.width, row.height, row.format = facts
        for key, value in fields.items():
            setattr(row, key, value)
        with session_scope() as session:
            session.add(row)
        return row
    except Exception:
        if thumb is not None:
            thumb.unlink(missing_ok=True)
        raise


def _make_row(kind: str, name: str, dest: Path, thumb: Path | None, info: MediaInfo | None,
              collection_id: str | None) -> Video | AudioFile | Image:
    common = {"name": name, "file": store.rel_path(dest), "size_bytes": dest.stat().st_size,
              "collection_id": collection_id}
    if kind == "video":
        width, height = info.display_size
        return Video(**common, thumbnail=store.rel_path(thumb), duration_s=info.duration_s, width=width,
                     height=height, fps=info.fps, has_audio=info.has_audio, video_codec=info.video_codec,
                     audio_codec=info.audio_codec, rotation=info.rotation)
    if kind == "audio":
        return AudioFile(**common, duration_s=info.duration_s, sample_rate=info.sample_rate,
                         channels=info.channels, codec=info.audio_codec)
    return Image(**common, thumbnail=store.rel_path(thumb))


def register_file(path: Path, kind: str, name: str, facts: MediaInfo | None = None, thumbnail=None,
                  row_id: str | None = None, **fields: Any) -> Video | AudioFile | Image:
    """Catalog a file the studio wrote itself (already inside the media folder); probes and thumbnails it,
    unless the writer passes what it knows: ``facts`` (its :class:`MediaInfo`) and ``thumbnail(dest)
    -> dest`` (e.g. a rendered variant, :func:`media.variant_render.variant_facts`, issue 15).

    ``fields`` sets extra columns (``type``, ``parent_video_id``, ``batch_id``...). ``row_id``: the row's
    id, for a job's output that a re-run must replace, not duplicate: the row with that id is
    overwritten (or inserted) and its thumbnail is ``thumbnails/<row_id>.jpg``, also replaced. Raises
    MediaError.
    """
    _check_kind(kind)
    facts = facts or _check(path, kind, name)
    if row_id is None:
        return _catalog(path, kind, name, facts, thumbnail, **fields)
    return _catalog_as(row_id, path, kind, name, facts, thumbnail, **fields)


def _catalog_as(row_id: str, path: Path, kind: str, name: str, facts: MediaInfo | tuple[int, int, str],
                thumbnail=None, **fields: Any) -> Video | AudioFile | Image:
    """:func:`_catalog` under a fixed id: insert, or replace the row a previous run left (upsert)."""
    thumb = None
    if kind != "audio":
        with store.work_dir("thumb-") as work:
            if thumbnail is not None:
                made = thumbnail(work / f"{row_id}.jpg")
            elif kind == "video":
                made = video_thumbnail(path, facts.duration_s, work / f"{row_id}.jpg")
            else:
                made = image_thumbnail(path, work / f"{row_id}.jpg")
            thumb = store.commit_file(made, store.media_root() / "thumbnails" / f"{row_id}.jpg")
    row = _make_row(kind, name, path, thumb, None if kind == "image" else facts, fields.pop("collection_id", None))
    if kind == "image":
        row.width, row.height, row.format = facts
    for key, value in fields.items():
        setattr(row, key, value)
    row.id = row_id
    for attempt in range(2):  # two runs finishing at once: the second insert fails, then updates
        try:
            with session_scope() as session:
                return session.merge(row)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def get_item(kind: str, item_id: str) -> Video | AudioFile | Image:
    """One library item; raises :class:`LibraryError` when the id is unknown."""
    return get_row(TABLES[_check_kind(kind)], item_id, LibraryError, kind)


def find_item(item_id: str) -> tuple[str, Video | AudioFile | Image]:
    """(kind, row) of any library item by id; raises :class:`LibraryError`."""
    with session_scope() as session:
        for kind, table in TABLES.items():
            row = session.get(table, item_id)
            if row is not None:
                return kind, row
    raise LibraryError(f"no library item with id {item_id}")


def image_ids(item_ids: list[str]) -> set[str]:
    """Which of ``item_ids`` are library images (one column-only query per 500 ids)."""
    found: set[str] = set()
    unique = sorted(set(item_ids))
    with session_scope() as session:
        for i in range(0, len(unique), 500):
            found.update(session.exec(select(Image.id).where(col(Image.id).in_(unique[i:i + 500]))))
    return found


def list_items(kind: str, collection: str = "", video_type: str | None = None,
               include_batch_variants: bool = False, limit: int | None = None) -> list[Video | AudioFile | Image]:
    """Items of ``kind`` newest first; ``collection`` filters by collection id or name; at most
    ``limit`` rows (None: all; the UI shows pages of :data:`PAGE_SIZE`).

    Videos rendered into a variant batch are left out unless kept (``include_batch_variants`` adds them).
    """
    table = TABLES[_check_kind(kind)]
    with session_scope() as session:
        query = select(table).order_by(col(table.created_at).desc())
        if collection:
            coll = resolve_collection(collection, kind)
            query = query.where(table.collection_id == coll.id)
        if kind == "video":
            if video_type:
                query = query.where(Video.type == video_type)
            if not include_batch_variants:
                query = query.where((col(Video.batch_id).is_(None)) | (Video.kept == True))
        if limit is not None:
            query = query.limit(limit)
        return list(session.exec(query))


def item_dict(kind: str, row: Video | AudioFile | Image) -> dict[str, Any]:
    """Plain-data view of a library row for the API and UI (paths absolute)."""
    data = row.model_dump(mode="json")
    data["kind"] = kind
    data["file_path"] = str(store.abs_path(row.file))
    if getattr(row, "thumbnail", None):
        data["thumbnail_file"] = str(store.abs_path(row.thumbnail))
    return data


def rename_item(kind: str, item_id: str, new_name: str) -> None:
    """Rename a library item (display name only; the stored file keeps its name)."""
    _update(kind, item_id, name=display_name(new_name))


def move_item(kind: str, item_id: str, collection: str) -> None:
    """Put an item into a collection (id or name; created if new), or out of any with ``""``."""
    coll = resolve_collection(collection, kind) if collection else None
    _update(kind, item_id, collection_id=coll.id if coll else None)


def _update(kind: str, item_id: str, **fields: Any) -> None:
    update_row(TABLES[_check_kind(kind)], item_id, LibraryError, kind, **fields)


def active_jobs_using(item_id: str) -> list[Job]:
    """Active jobs (pending/queued/processing) whose input names ``item_id``."""
    with session_scope() as session:
        active = session.exec(select(Job).where(col(Job.status).in_(ACTIVE_JOB_STATUSES)))
        return [job for job in active if item_id in json.dumps(job.input_payload)]


def delete_item(kind: str, item_id: str) -> None:
    """Delete an item (files and row together) into the trash, from where :func:`restore_item` undoes it
    for 7 days. Refused (LibraryError) while an active job uses the item."""
    busy = active_jobs_using(item_id)
    if busy:
        raise LibraryError(f"cannot delete: {len(busy)} running job(s) use this {kind} "
                           f"({busy[0].type} job {busy[0].id[:8]}); cancel them or wait")
    diagram_id = getattr(get_item(kind, item_id), "character_diagram_id", None)
    if diagram_id:  # the image is a character diagram: delete the character with it
        from media.characters.catalog import CharacterNotFound, delete_diagram

        try:
            delete_diagram(diagram_id)
            return
        except CharacterNotFound:
            pass  # an orphaned diagram image: delete it like any image
    with session_scope() as session:
        row = session.get(TABLES[_check_kind(kind)], item_id)
        if row is None:
            raise LibraryError(f"no {kind} with id {item_id}")
        _to_trash(kind, row)
        session.delete(row)
    if kind == "video":
        store.remove_files(f"cache/{item_id}")  # normalised copies and hook segments: remade on demand


TRASH = "trash"  # deleted items wait here (files + row) until restored or purged


def _to_trash(kind: str, row: Video | AudioFile | Image) -> None:
    """Move an item's files under ``trash/<id>/`` beside a JSON copy of its row."""
    folder = store.media_root() / TRASH / row.id
    folder.mkdir(parents=True, exist_ok=True)
    for rel in (row.file, getattr(row, "thumbnail", None)):
        if rel and store.abs_path(rel).exists():
            dest = folder / "files" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            store.commit_file(store.abs_path(rel), dest)
    (folder / "row.json").write_text(json.dumps({"kind": kind, "row": row.model_dump(mode="json")}))


def restore_item(item_id: str) -> tuple[str, str]:
    """Undo a delete: put the item's files and row back; returns (kind, name).

    Raises :class:`LibraryError` when the item is not in the trash (never deleted, or purged).
    """
    folder = store.media_root() / TRASH / item_id
    meta = folder / "row.json"
    if not meta.is_file():
        raise LibraryError("nothing to restore: the item is not in the trash (purged after 7 days)")
    data = json.loads(meta.read_text())
    row = TABLES[data["kind"]].model_validate(data["row"])
    files = folder / "files"
    for path in (p for p in files.rglob("*") if p.is_file()):
        store.commit_file(path, store.media_root() / path.relative_to(files))
    with session_scope() as session:
        session.add(row)
    shutil.rmtree(folder, ignore_errors=True)
    return data["kind"], row.name


def purge_trash(max_age_s: float = 7 * 24 * 3600) -> int:
    """Delete trash entries older than ``max_age_s`` seconds for good; returns how many."""
    root = store.media_root() / TRASH
    if not root.is_dir():
        return 0
    limit = time.time() - max_age_s
    old = [folder for folder in root.iterdir() if folder.stat().st_mtime < limit]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)


PAGE_SIZE = 200  # rows a picker or table shows at once; the rest is reached by search or the next page


def _like(text: str) -> str:
    """A case-insensitive ``LIKE`` pattern for ``text`` anywhere (``%`` and ``_`` taken literally)."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_CHOICE_COLUMNS = {"video": ("duration_s", "width", "height"), "audio": ("duration_s",), "image": ("width", "height")}


def choice_page(kind: str, text: str = "", collection: str = "", limit: int = PAGE_SIZE, offset: int = 0,
                ids: list[str] | None = None) -> tuple[list[Any], int]:
    """One page of picker rows of ``kind``, newest first, and how many match.

    Rows have ``id``, ``name`` and, for videos ``duration_s``, ``width``, ``height``; audio
    ``duration_s``; images ``width``, ``height``. ``text`` filters by name (case-insensitive
    substring), ``collection`` by collection id or name, ``ids`` to exactly these items (e.g. the
    current selection); videos rendered into a batch are left out unless kept (as :func:`list_items`).
    Column-only queries: a library of 10,000 items answers in milliseconds (issue 15).
    """
    table = TABLES[_check_kind(kind)]
    query = select(table.id, table.name, *(getattr(table, c) for c in _CHOICE_COLUMNS[kind]))
    count = select(func.count()).select_from(table)
    conditions = []
    if text.strip():
        conditions.append(col(table.name).ilike(_like(text), escape="\\"))
    if collection:
        conditions.append(table.collection_id == resolve_collection(collection, kind).id)
    if ids is not None:
        conditions.append(col(table.id).in_(list(ids)[:1000]))
    if kind == "video":
        conditions.append((col(Video.batch_id).is_(None)) | (Video.kept == True))
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    query = query.order_by(col(table.created_at).desc(), col(table.id)).offset(max(0, offset)).limit(limit)
    with session_scope() as session:
        return list(session.exec(query)), int(session.exec(count).one())


def hook_page(text: str = "", category: str = "", limit: int = PAGE_SIZE, offset: int = 0,
              ids: list[str] | None = None) -> tuple[list[tuple[str, str, str]], int]:
    """One page of hooks ``[(id, text, category)]`` in the order they were added, and how many match
    (``text``: case-insensitive substring of the hook, ``category``: exact, ``ids``: exactly these).
    Column-only queries."""
    query = select(Hook.id, Hook.text, Hook.category)
    count = select(func.count()).select_from(Hook)
    conditions = []
    if text.strip():
        conditions.append(col(Hook.text).ilike(_like(text), escape="\\"))
    if category:
        conditions.append(Hook.category == category)
    if ids is not None:
        conditions.append(col(Hook.id).in_(list(ids)[:1000]))
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    query = query.order_by(col(Hook.created_at), col(Hook.id)).offset(max(0, offset)).limit(limit)
    with session_scope() as session:
        return [tuple(row) for row in session.exec(query)], int(session.exec(count).one())
