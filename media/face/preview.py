"""A before/after preview of one frame, so a creator can check the swap (and pick the reference face)
before queueing a whole video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from media.face.landmarks import Face, detect_faces
from media.face.swapper import prepare_source, swap_face
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


def preview_swap(video: Path, face_rgb: np.ndarray, source_face: Face, time_s: float = 0.0,
                 selection: str = "largest", reference_point: tuple[float, float] | None = None) -> FramePreview:
    """Swap the frame of ``video`` at ``time_s`` with ``source_face`` of ``face_rgb`` (see
    :func:`media.face.swapper.swap_face`), choosing faces as a job would."""
    t, before = frame_at(video, time_s)
    tracker = FaceTracker(30.0, selection, reference_point=reference_point, reference_time_s=0.0)
    targets = tracker.update(before, t_s=0.0)
    after = before.copy()
    source = prepare_source(face_rgb, source_face)
    for landmarks in targets:
        swap_face(after, source, landmarks)
    return FramePreview(time_s=t, before=before, after=after, faces=len(detect_faces(before)),
                        swapped=len(targets))
