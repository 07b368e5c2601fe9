"""Character diagram rows and their files: store a finished diagram, import one, list, rename, delete.

A stored diagram is also a library ``images`` row with ``character_diagram_id`` set, so it shows in
Library > Images and in the Swapper's face picker. Files are written in a ``work_dir`` and moved into
the media folder only when complete.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from media.characters.images import ImageFacts, check_image_bytes, check_image_file, write_thumbnail
from media.db import get_row, session_scope, update_row
from media.errors import InvalidInput, NotFound, StudioError
from media.models import CharacterDiagram, Image, Video, utcnow
from media.store import abs_path, commit_file, new_file_path, rel_path, remove_files, work_dir
from media.validate import NAME_MAX_CHARS

MAX_NAME_LEN = NAME_MAX_CHARS
_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
               "TIFF": ".tif"}


class CharacterNotFound(StudioError, LookupError):
    """No character diagram with that id."""


def clean_name(name: str) -> str:
    """The name trimmed and single-spaced; raises ``ValueError`` when empty or too long."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidInput("give the character a name")
    if len(cleaned) > MAX_NAME_LEN:
        raise InvalidInput(f"character name too long ({len(cleaned)} characters; at most {MAX_NAME_LEN})")
    return cleaned


_NAME_SUFFIXES = {*_EXTENSIONS.values(), ".jpeg", ".tiff", ".heic", ".avif"}


def suggested_name(image_name: str) -> str:
    """A character name from a library image's name: an image file extension is dropped
    (``lin-manuel-miranda.png`` -> ``lin-manuel-miranda``), spaces are collapsed, the length capped.
    Empty for an empty name."""
    name = " ".join((image_name or "").split())
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and f".{suffix.lower()}" in _NAME_SUFFIXES:
        name = stem.rstrip()
    return name[:MAX_NAME_LEN]


def get_library_image(image_id: str) -> Image:
    """The ``images`` row; raises :class:`NotFound` (a ``LookupError``) naming the id."""
    return get_row(Image, image_id, NotFound, "library image")


def get_diagram(diagram_id: str) -> CharacterDiagram:
    """The ``character_diagrams`` row; raises :class:`CharacterNotFound`."""
    return get_row(CharacterDiagram, diagram_id, CharacterNotFound, "character")


def update_diagram(diagram_id: str, **fields: Any) -> CharacterDiagram:
    """Set columns on a diagram row (``updated_at`` refreshed); raises :class:`CharacterNotFound`."""
    return update_row(CharacterDiagram, diagram_id, CharacterNotFound, "character", **fields)


def create_pending_diagram(name: str, source_image_id: str | None, provider: str, notes: str) -> CharacterDiagram:
    """Insert a ``pending`` diagram row."""
    with session_scope() as session:
        diagram = CharacterDiagram(name=clean_name(name), source_image_id=source_image_id,
                                   provider=provider, notes=notes.strip(), status="pending")
        session.add(diagram)
        return diagram


def _store_file(src: Path, name: str, facts: ImageFacts) -> tuple[str, str]:
    """Move ``src`` into ``images/`` with a thumbnail in ``thumbnails/``; returns both relative paths."""
    ext = _EXTENSIONS.get(facts.format, ".png")
    thumb_tmp = src.with_name(src.stem + "_thumb.jpg")
    write_thumbnail(src, thumb_tmp)
    image_dest = commit_file(src, new_file_path("images", name, ext))
    thumb_dest = commit_file(thumb_tmp, new_file_path("thumbnails", name, ".jpg"))
    return rel_path(image_dest), rel_path(thumb_dest)


def _finish(diagram_id: str, name: str, file_rel: str, thumb_rel: str, facts: ImageFacts,
            **diagram_fields: Any) -> CharacterDiagram:
    """Create the library image row and mark the diagram ready, in one transaction; on error the
    stored files are removed so nothing half-made stays in the library."""
    try:
        with session_scope() as session:
            diagram = session.get(CharacterDiagram, diagram_id)
            if diagram is None:
                raise CharacterNotFound(f"no character with id {diagram_id!r} (deleted while running?)")
            image = Image(name=name, character_diagram_id=diagram_id, file=file_rel, thumbnail=thumb_rel,
                          width=facts.width, height=facts.height, format=facts.format.lower(),
                          size_bytes=facts.size_bytes)
            session.add(image)
            diagram.image_id = image.id
            diagram.file = file_rel
            diagram.thumbnail = thumb_rel
            diagram.status = "ready"
            diagram.error_message = None
            diagram.updated_at = utcnow()
            for key, value in diagram_fields.items():
                setattr(diagram, key, value)
            session.add(diagram)
            return diagram
    except Exception:
        remove_files(file_rel, thumb_rel)
        raise


def store_diagram_image(diagram_id: str, image_bytes: bytes, **diagram_fields: Any) -> CharacterDiagram:
    """Store a provider's image for a diagram row: check it decodes, write image + thumbnail, add the
    library ``images`` row and mark the diagram ``ready``. Raises ``ImageFileError`` on a malformed
    image (nothing stored)."""
    diagram = get_diagram(diagram_id)
    facts = check_image_bytes(image_bytes, f"the image returned for {diagram.name!r}")
    with work_dir("character-") as tmp:
        src = tmp / "diagram"
        src.write_bytes(image_bytes)
        file_rel, thumb_rel = _store_file(src, diagram.name, facts)
    return _finish(diagram_id, diagram.name, file_rel, thumb_rel, facts, **diagram_fields)


def import_diagram(path: Path, name: str) -> CharacterDiagram:
    """Add an existing diagram image as a character directly (provider ``import``, no job).

    Raises ``ImageFileError`` (not an image, too large) or ``ValueError`` (bad name).
    """
    name = clean_name(name)
    facts = check_image_file(Path(path))
    diagram = create_pending_diagram(name, None, "import", "")
    try:
        with work_dir("character-import-") as tmp:
            src = tmp / "diagram"
            shutil.copyfile(path, src)
            file_rel, thumb_rel = _store_file(src, name, facts)
        return _finish(diagram.id, name, file_rel, thumb_rel, facts)
    except Exception:
        _delete_rows(diagram.id)
        raise


def list_diagrams(statuses: tuple[str, ...] | None = None) -> list[CharacterDiagram]:
    """Diagram rows, newest first, optionally only those with a status in ``statuses``."""
    with session_scope() as session:
        query = select(CharacterDiagram).order_by(col(CharacterDiagram.created_at).desc())
        if statuses:
            query = query.where(col(CharacterDiagram.status).in_(statuses))
        return list(session.exec(query))


def rename_diagram(diagram_id: str, name: str) -> CharacterDiagram:
    """Rename a character and its library image; raises :class:`CharacterNotFound` / ``ValueError``."""
    name = clean_name(name)
    with session_scope() as session:
        diagram = session.get(CharacterDiagram, diagram_id or "")
        if diagram is None:
            raise CharacterNotFound(f"no character with id {diagram_id!r}")
        diagram.name = name
        diagram.updated_at = utcnow()
        session.add(diagram)
        if diagram.image_id:
            image = session.get(Image, diagram.image_id)
            if image is not None:
                image.name = name
                image.updated_at = utcnow()
                session.add(image)
        return diagram


def _delete_rows(diagram_id: str) -> list[str | None]:
    """Delete the diagram row and its library image rows; returns the files they pointed at."""
    files: list[str | None] = []
    with session_scope() as session:
        diagram = session.get(CharacterDiagram, diagram_id)
        if diagram is None:
            raise CharacterNotFound(f"no character with id {diagram_id!r}")
        files += [diagram.file, diagram.thumbnail]
        images = session.exec(select(Image).where(Image.character_diagram_id == diagram_id)).all()
        image_ids = {image.id for image in images}
        for image in images:
            files += [image.file, image.thumbnail]
            session.delete(image)
        # Videos made with this character keep existing; they just no longer point at deleted rows.
        for video in session.exec(select(Video).where(
                (Video.character_diagram_id == diagram_id) | col(Video.face_image_id).in_(image_ids))):
            if video.character_diagram_id == diagram_id:
                video.character_diagram_id = None
            if video.face_image_id in image_ids:
                video.face_image_id = None
            session.add(video)
        session.delete(diagram)
    return files


def delete_diagram(diagram_id: str) -> None:
    """Delete a character: its row, its library image row(s) and their files (image + thumbnail).

    The source photo is left alone. Raises :class:`CharacterNotFound`.
    """
    remove_files(*_delete_rows(diagram_id))


def diagram_to_dict(diagram: CharacterDiagram) -> dict[str, Any]:
    """A plain dict for the API and UI: ids, name, status, provider, notes, cost (cents), error, times
    (ISO 8601 UTC) and absolute ``file_path`` / ``thumbnail_file`` of the stored files (None until ready)."""
    def _abs(rel: str | None) -> str | None:
        return str(abs_path(rel)) if rel else None

    return {"id": diagram.id, "name": diagram.name, "status": diagram.status, "provider": diagram.provider,
            "notes": diagram.notes, "source_image_id": diagram.source_image_id, "image_id": diagram.image_id,
            "file_path": _abs(diagram.file), "thumbnail_file": _abs(diagram.thumbnail),
            "cost_cents": diagram.cost_cents, "error": diagram.error_message,
            "created_at": diagram.created_at.isoformat() + "Z", "updated_at": diagram.updated_at.isoformat() + "Z"}
