"""Thumbnails: small JPEG previews of videos (a frame at 10 % of the duration) and images."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageOps

THUMB_SIZE = (320, 320)  # pixels, longest side fits in this box


def video_frame(path: Path, at_s: float) -> Image.Image:
    """The first decodable frame at or after ``at_s`` seconds, as an RGB PIL image (rotation applied).

    Raises ``av.FFmpegError`` or ``ValueError`` when no frame decodes.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if at_s > 0 and stream.time_base:
            container.seek(int(at_s / stream.time_base) + (stream.start_time or 0), stream=stream)
        for frame in container.decode(stream):
            image = frame.to_image()
            rotation = int(getattr(frame, "rotation", 0) or 0) % 360
            return image.rotate(rotation, expand=True) if rotation else image
    raise ValueError(f"no frame decodes in {path.name}")


def save_thumbnail(image: Image.Image, dest: Path) -> Path:
    """Write ``image`` shrunk into :data:`THUMB_SIZE` as a JPEG at ``dest``; returns ``dest``."""
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail(THUMB_SIZE)
    dest.parent.mkdir(parents=True, exist_ok=True)
    thumb.save(dest, "JPEG", quality=85)
    return dest


def video_thumbnail(path: Path, duration_s: float, dest: Path) -> Path:
    """Thumbnail of a video from the frame at 10 % of ``duration_s`` seconds."""
    return save_thumbnail(video_frame(path, duration_s * 0.1), dest)


def image_thumbnail(path: Path, dest: Path) -> Path:
    """Thumbnail of an image file (EXIF orientation applied)."""
    with Image.open(path) as image:
        return save_thumbnail(image, dest)
