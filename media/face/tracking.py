"""Following faces through a video: detection every few frames, Face Mesh tracking in between,
One Euro smoothing per face, and the choice of which faces to swap.

Per frame: each tracked face is re-meshed in a box around its last landmarks (cheap: one Face Mesh on
a crop). Every ``detect_every`` frames, or on every frame while nothing is tracked, the full-range
detector looks for faces (new ones become tracks); the slower tiled small-face pass runs only on the
``detect_every`` frames (and, for ``largest``, only while no face is tracked). A face whose mesh is lost is dropped; a jump of more than half a face width
in one frame (a cut) resets its smoothing.

Selection (``SwapOptions.face_selection``): ``largest`` (with hysteresis so two similar faces do not
flicker), ``all``, or ``reference``: the face nearest ``reference_point``, picked again at
``reference_time_s`` and followed as a track in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from media.face.landmarks import detect_boxes, faces_in_boxes, mesh_in_box
from media.face.mesh import face_size
from media.face.smoothing import OneEuroFilter

DETECT_EVERY = 8
MAX_FACES = 5
# A candidate must be this much larger (face width ratio) to take over as "largest".
LARGEST_HYSTERESIS = 1.15
# Centre jump, in face widths per frame, treated as a cut.
CUT_JUMP = 0.5


@dataclass
class _Track:
    track_id: int
    raw: np.ndarray
    smooth: np.ndarray
    filter: OneEuroFilter = field(default_factory=OneEuroFilter)

    @property
    def center(self) -> np.ndarray:
        return self.raw.mean(axis=0)

    @property
    def size(self) -> float:
        return face_size(self.raw)

    def box(self) -> tuple[float, float, float, float, float]:
        x0, y0 = self.raw.min(axis=0)
        x1, y1 = self.raw.max(axis=0)
        return (float(x0), float(y0), float(x1 - x0), float(y1 - y0), 1.0)

    def update(self, landmarks: np.ndarray, dt_s: float) -> None:
        jump = float(np.linalg.norm(landmarks.mean(axis=0) - self.center)) / max(self.size, 1.0)
        if jump > CUT_JUMP:
            self.filter.reset()
        self.raw = landmarks
        self.smooth = self.filter(landmarks, dt_s, scale=face_size(landmarks))


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class FaceTracker:
    """Landmarks of the faces to swap, frame by frame (call :meth:`update` once per frame in order)."""

    def __init__(self, fps: float, selection: str = "largest",
                 reference_point: tuple[float, float] | None = None, reference_time_s: float = 0.0,
                 detect_every: int = DETECT_EVERY, max_faces: int = MAX_FACES) -> None:
        if selection not in ("largest", "all", "reference"):
            raise ValueError(f"unknown face selection: {selection!r} (largest, all or reference)")
        if selection == "reference" and reference_point is None:
            raise ValueError("face selection 'reference' needs a reference point (x, y) in the frame")
        self.dt_s = 1.0 / fps if fps > 0 else 1.0 / 30
        self.selection = selection
        self.reference_point = np.array(reference_point, dtype=np.float32) if reference_point else None
        self.reference_time_s = reference_time_s
        self.detect_every = max(1, detect_every)
        self.max_faces = max_faces
        self.tracks: list[_Track] = []
        self._next_id = 0
        self._frame = 0
        self._selected: int | None = None
        self._anchor = self.reference_point.copy() if self.reference_point is not None else None
        self._reference_done = False

    def update(self, rgb: np.ndarray, t_s: float | None = None) -> list[np.ndarray]:
        """Track faces in ``rgb`` (H, W, 3) at time ``t_s`` seconds (default: frame index / fps).

        Returns the smoothed landmarks (468, 2) float32 of the faces to swap, [] when none.
        """
        t_s = self._frame * self.dt_s if t_s is None else t_s
        for track in list(self.tracks):
            landmarks = mesh_in_box(rgb, track.box())
            if landmarks is None:
                self.tracks.remove(track)
            else:
                track.update(landmarks, self.dt_s)
        keyframe = self._frame % self.detect_every == 0
        if keyframe or not self.tracks:
            # The tiled small-face pass (4 more detector runs) matters when small faces can be chosen:
            # always for "all"/"reference", for "largest" only while no face is tracked.
            small_faces_matter = self.selection != "largest" or not self.tracks
            self._add_new_faces(rgb, tiled=keyframe and small_faces_matter)
        self._frame += 1
        return [track.smooth for track in self._select(t_s)]

    def _add_new_faces(self, rgb: np.ndarray, tiled: bool) -> None:
        boxes = detect_boxes(rgb, tiled=tiled)
        known = [track.box() for track in self.tracks]
        fresh = [b for b in boxes if all(_box_iou(b, k) < 0.3 for k in known)]
        room = self.max_faces - len(self.tracks)
        for face in faces_in_boxes(rgb, fresh[: max(room, 0)]):
            if any(_box_iou(face.box + (1.0,), t.box()) >= 0.3 for t in self.tracks):
                continue  # the mesh settled on a face already tracked
            self.tracks.append(_Track(self._next_id, face.landmarks, face.landmarks.copy()))
            self._next_id += 1

    def _select(self, t_s: float) -> list[_Track]:
        if not self.tracks:
            self._selected = None
            return []
        if self.selection == "all":
            return list(self.tracks)
        if self.selection == "largest":
            return [self._select_largest()]
        return [self._select_reference(t_s)]

    def _select_largest(self) -> _Track:
        largest = max(self.tracks, key=lambda t: t.size)
        current = next((t for t in self.tracks if t.track_id == self._selected), None)
        if current is None or largest.size > current.size * LARGEST_HYSTERESIS:
            current = largest
        self._selected = current.track_id
        return current

    def _select_reference(self, t_s: float) -> _Track:
        current = next((t for t in self.tracks if t.track_id == self._selected), None)
        at_reference = not self._reference_done and t_s + self.dt_s / 2 >= self.reference_time_s
        if at_reference:
            self._reference_done = True
            self._anchor = self.reference_point.copy()
            current = None
        if current is None:
            current = min(self.tracks, key=lambda t: float(np.linalg.norm(t.center - self._anchor)))
        self._selected = current.track_id
        self._anchor = current.center.copy()
        return current
