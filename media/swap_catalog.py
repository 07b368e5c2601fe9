"""Catalog queries of the Swapper: the faces to pick from (library images, character diagrams marked)
and which character diagram an image is. Plain dataclasses out, so the tab never touches SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from media.db import session_scope
from media.models import CharacterDiagram, Image


@dataclass(frozen=True)
class FaceChoice:
    """A library image usable as the face; ``character_diagram_id`` is set for a character diagram."""

    id: str
    name: str
    file: str
    thumbnail: str | None
    character_diagram_id: str | None


def list_faces(limit: int = 500) -> list[FaceChoice]:
    """Library images (character diagrams included), newest first."""
    with session_scope() as session:
        rows = session.exec(select(Image).order_by(col(Image.created_at).desc()).limit(limit))
        diagram_by_image = {d.image_id: d.id for d in session.exec(select(CharacterDiagram)) if d.image_id}
        return [FaceChoice(i.id, i.name, i.file, i.thumbnail,
                           i.character_diagram_id or diagram_by_image.get(i.id)) for i in rows]


def diagram_of_image(image: Image) -> str | None:
    """The character diagram an image is (``images.character_diagram_id``, or a diagram whose
    ``image_id`` is this image), else None."""
    if image.character_diagram_id:
        return image.character_diagram_id
    with session_scope() as session:
        return session.exec(select(CharacterDiagram.id).where(CharacterDiagram.image_id == image.id)).first()
