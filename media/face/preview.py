"""A before/after preview of one frame, so a creator can check the swap (and pick the reference face)
before queueing a whole video."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from media.face.landmarks import detect_faces
from media.face.tracking import FaceTracker


@dataclass(frozen=True)
class FramePreview:
    """``before``/``after`` RGB frames (H, W, 3) uint8 at ``time_s`` seconds; ``faces`` found in it and
    how many were ``swapped``."""

    time_s: float
    before: np.ndarray
    after: np.ndarray
    faces: int
    swapped: int


def frame_at(video: Path, time_s: float) -> tuple[float, np.ndarray]:
    """(time in seconds from the video's start, RGB frame) of the first frame at or after ``time_s``
    (the last frame when the video is shorter). Raises ValueError naming the file if none decodes."""
    video = Path(video)
    last = None
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        start = float((stream.start_time or 0) * stream.time_base) if stream.time_base else 0.0
        if time_s > 0 and stream.time_base:
            container.seek(int((start + time_s) / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            t = (frame.time or start) - start
            last = (t, frame.to_ndarray(format="rgb24"))
            if t + 1e-3 >= time_s:
                break
    if last is None:
        raise ValueError(f"no decodable video frame in {video.name}")
    return last


def preview_swap(video: Path, time_s: float, tracker: FaceTracker,
                 works: Sequence[Callable[[np.ndarray, np.ndarray], None]]) -> FramePreview:
    """Swap the frame of ``video`` at ``time_s`` seconds as a job would: ``tracker`` (fresh) picks the
    faces, ``works[slot](frame, landmarks)`` swaps each in place (slot = its source face, see
    :meth:`media.face.tracking.FaceTracker.update_targets`)."""
    t, before = frame_at(video, time_s)
    targets = tracker.update_targets(before)
    after = before.copy()
    for landmarks, slot in targets:
        works[slot](after, landmarks)
    return FramePreview(time_s=t, before=before, after=after, faces=len(detect_faces(before)),
                        swapped=len(targets))


def numbered_faces(rgb: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """A copy of ``rgb`` (H, W, 3 uint8) with each box (x, y, w, h pixels) drawn and numbered from 1 in
    the order of ``boxes`` (the face image's faces, largest first: the numbers the Swapper's "Face of the
    image" and face mapping use). Line width and label size scale with the image (about 1/300 and 1/24 of
    its larger side, in pixels)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    draw = ImageDraw.Draw(image)
    side = max(image.size)
    width = max(2, side // 300)
    font = ImageFont.load_default(size=max(14, side // 24))
    for number, (x, y, w, h) in enumerate(boxes, start=1):
        draw.rectangle((x, y, x + w, y + h), outline=(255, 214, 0), width=width)
        label = str(number)
        left, top, right, bottom = draw.textbbox((x, y), label, font=font)
        tag_y = max(0, y - (bottom - top) - 3 * width)
        draw.rectangle((x, tag_y, x + right - left + 4 * width, tag_y + bottom - top + 3 * width), fill=(255, 214, 0))
        draw.text((x + 2 * width, tag_y + width - (top - y)), label, fill=(0, 0, 0), font=font)
    return np.asarray(image)
