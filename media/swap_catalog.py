"""Catalog queries of the Swapper: the videos and face images to pick from, swap jobs, and adding a
swapped video to the library. Plain dataclasses out, so the tab and the API never touch SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from media.db import session_scope
from media.models import CharacterDiagram, Image, Video
from media.probe import MediaInfo


@dataclass(frozen=True)
class VideoChoice:
    """A library video: id, name, type, relative file and thumbnail paths, duration in seconds."""

    id: str
    name: str
    type: str
    file: str
    thumbnail: str | None
    duration_s: float


@dataclass(frozen=True)
class FaceChoice:
    """A library image usable as the face; ``character_diagram_id`` is set for a character diagram."""

    id: str
    name: str
    file: str
    thumbnail: str | None
    character_diagram_id: str | None


def list_videos(types: tuple[str, ...] = ("source", "face_swapped", "variant"), limit: int = 500) -> list[VideoChoice]:
    """Library videos of the given types, newest first."""
    with session_scope() as session:
        rows = session.exec(select(Video).where(col(Video.type).in_(types))
                            .order_by(col(Video.created_at).desc()).limit(limit))
        return [VideoChoice(v.id, v.name, v.type, v.file, v.thumbnail, v.duration_s) for v in rows]


def list_faces(limit: int = 500) -> list[FaceChoice]:
    """Library images (character diagrams included), newest first."""
    with session_scope() as session:
        rows = session.exec(select(Image).order_by(col(Image.created_at).desc()).limit(limit))
        diagram_by_image = {d.image_id: d.id for d in session.exec(select(CharacterDiagram))
                            if d.image_id}
        return [FaceChoice(i.id, i.name, i.file, i.thumbnail,
                           i.character_diagram_id or diagram_by_image.get(i.id)) for i in rows]


def get_video(video_id: str) -> Video | None:
    """The ``videos`` row or None."""
    with session_scope() as session:
        return session.get(Video, video_id)


def get_image(image_id: str) -> Image | None:
    """The ``images`` row or None."""
    with session_scope() as session:
        return session.get(Image, image_id)


def diagram_of_image(image: Image) -> str | None:
    """The character diagram an image is (``images.character_diagram_id``, or a diagram whose
    ``image_id`` is this image), else None."""
    if image.character_diagram_id:
        return image.character_diagram_id
    with session_scope() as session:
        row = session.exec(select(CharacterDiagram.id).where(CharacterDiagram.image_id == image.id)).first()
        return row


def add_swapped_video(name: str, file: str, thumbnail: str | None, info: MediaInfo, parent: Video,
                      face_image_id: str, character_diagram_id: str | None) -> Video:
    """Insert the ``videos`` row of a face-swapped result (type ``face_swapped``) and return it.

    ``file``/``thumbnail`` are paths relative to the media folder; metadata comes from ``info``. The
    result goes into the source video's collection.
    """
    with session_scope() as session:
        video = Video(
            name=name, type="face_swapped", collection_id=parent.collection_id, parent_video_id=parent.id,
            face_image_id=face_image_id,
            character_diagram_id=character_diagram_id, file=file, thumbnail=thumbnail,
            duration_s=info.duration_s, width=info.width, height=info.height, fps=info.fps,
            has_audio=info.has_audio, video_codec=info.video_codec, audio_codec=info.audio_codec,
            rotation=info.rotation, size_bytes=info.size_bytes,
        )
        session.add(video)
        return video
