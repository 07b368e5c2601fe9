"""Which target faces a swap replaces, resolved before the video is swapped.

The ``reference`` selection and the face mapping name target faces in one frame of the video (the
frame at ``reference_time_s``): a point clicked on the preview (the face whose box holds it, else the
nearest) or face numbers (0 = the largest face of that frame, then by size, as the face image's faces
are numbered). Each named face becomes a reference embedding (:mod:`media.face.embedding`), and the
tracker (:class:`media.face.tracking.FaceTracker`) swaps, in every frame, the faces close to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from media.errors import InvalidInput
from media.face.embedding import Embedder
from media.face.landmarks import Face, detect_faces
from media.face.tracking import MAX_FACES


def face_at_point(faces: Sequence[Face], point: tuple[float, float]) -> int:
    """Index of the face whose box holds ``point`` (x, y pixels; the smallest such box), else of the face
    whose box centre is nearest. Raises InvalidInput when ``faces`` is empty."""
    if not faces:
        raise InvalidInput("no face in the reference frame: pick another time for the reference face")
    return box_at_point([f.box for f in faces], point)


def box_at_point(boxes: Sequence[tuple[int, int, int, int]], point: tuple[float, float]) -> int:
    """Index of the box (x, y, w, h pixels) that holds ``point`` (x, y pixels; the smallest such box), else
    of the box whose centre is nearest. Raises ValueError when ``boxes`` is empty."""
    if not boxes:
        raise ValueError("no boxes to pick from")
    x, y = point
    holding = [k for k, (bx, by, bw, bh) in enumerate(boxes) if bx <= x <= bx + bw and by <= y <= by + bh]
    if holding:
        return min(holding, key=lambda k: boxes[k][2] * boxes[k][3])
    return min(range(len(boxes)),
               key=lambda k: float(np.hypot(boxes[k][0] + boxes[k][2] / 2 - x, boxes[k][1] + boxes[k][3] / 2 - y)))


def reference_embeddings(rgb: np.ndarray, embed: Embedder, point: tuple[float, float] | None = None,
                         target_faces: Sequence[int] = ()) -> list[np.ndarray]:
    """Embeddings of the named faces of frame ``rgb`` (H, W, 3): the face at ``point`` when given,
    else face numbers ``target_faces`` (0 = largest). Raises InvalidInput naming the problem (no face
    in the frame, a face number the frame does not have)."""
    faces = detect_faces(rgb, max_faces=MAX_FACES)
    if point is not None:
        chosen = [face_at_point(faces, point)]
    else:
        missing = [k for k in target_faces if not 0 <= k < len(faces)]
        if missing:
            raise InvalidInput(f"the reference frame holds {len(faces)} face(s); target face number "
                               f"{missing[0] + 1} does not exist (faces are numbered largest first)")
        chosen = list(target_faces)
    return [embed(rgb, faces[k].landmarks) for k in chosen]


def video_reference_embeddings(video: Path, time_s: float, embed: Embedder,
                               point: tuple[float, float] | None = None,
                               target_faces: Sequence[int] = ()) -> list[np.ndarray]:
    """:func:`reference_embeddings` in the frame of ``video`` at ``time_s`` seconds (the last frame when
    the video is shorter)."""
    from media.face.preview import frame_at

    _t, rgb = frame_at(video, time_s)
    return reference_embeddings(rgb, embed, point, target_faces)
