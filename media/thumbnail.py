"""Video thumbnails: one decoded frame saved as a JPEG (PyAV + Pillow)."""

from __future__ import annotations

from pathlib import Path

import av

THUMBNAIL_WIDTH = 320


def write_thumbnail(video: Path, dest: Path, at_s: float = 1.0, width: int = THUMBNAIL_WIDTH) -> Path:
    """Save the frame of ``video`` at about ``at_s`` seconds (the first one if the video is shorter) as a
    JPEG ``width`` pixels wide at ``dest``; returns ``dest``. Raises ValueError naming the file when no
    frame decodes."""
    video, dest = Path(video), Path(dest)
    image = None
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        start = float((stream.start_time or 0) * stream.time_base) if stream.time_base else 0.0
        for frame in container.decode(stream):
            image = frame.to_image()
            if frame.time is None or frame.time - start >= at_s:
                break
    if image is None:
        raise ValueError(f"no decodable video frame in {video.name}")
    height = max(2, round(image.height * width / image.width))
    image.resize((width, height)).save(dest, "JPEG", quality=85)
    return dest
