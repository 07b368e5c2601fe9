"""Following faces through a video: detection every few frames, Face Mesh tracking in between,
One Euro smoothing per face, and the choice of which faces to swap.

Per frame: each tracked face is re-meshed in a box around its last landmarks (cheap: one Face Mesh on
a crop). Every ``detect_every`` frames, or on every frame while nothing is tracked, the full-range
detector looks for faces (new ones become tracks); the slower tiled small-face pass runs only on the
``detect_every`` frames (and, for ``largest``, only while no face is tracked). A face whose mesh is lost is dropped; a jump of more than half a face width
in one frame (a cut) resets its smoothing.

Selection (``SwapOptions.face_selection``, as FaceFusion's face selector modes): ``one`` (the largest
face, with hysteresis so two similar faces do not flicker), ``many`` (every face), or ``reference``: every
face whose embedding (:mod:`media.face.embedding`) lies within the match distance of a reference face's.
A face mapping is ``reference`` with several references, one per source face: each tracked face goes to
the source of its nearest reference (each reference to at most one face per frame). A track's
embedding is the running mean of its embeddings at its keyframes; once matched it stays matched until
its distance exceeds ``UNMATCH_FACTOR`` x the match distance (no flicker at the threshold). A keyframe
embedding far from the track's mean (another person where the face was) restarts the mean, and a scene
cut (the mean absolute difference of consecutive 32x18 grey thumbnails above ``CUT_DIFFERENCE`` levels)
re-embeds every track at once, so after a cut the right person is swapped from its first frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from media.face.embedding import distance
from media.face.landmarks import detect_boxes, faces_in_boxes, mesh_in_box
from media.face.mesh import face_size
from media.face.smoothing import OneEuroFilter

DETECT_EVERY = 8
MAX_FACES = 5
# A candidate must be this much larger (face width ratio) to take over as "largest".
LARGEST_HYSTERESIS = 1.15
# Centre jump, in face widths per frame, treated as a cut.
CUT_JUMP = 0.5
SELECTIONS = ("one", "many", "reference")
# A matched face stays matched until its embedding distance exceeds this x the match distance.
UNMATCH_FACTOR = 1.25
# Mean absolute difference (0..255 grey levels) of consecutive 32x18 thumbnails taken as a scene cut.
CUT_DIFFERENCE = 25.0


@dataclass
class _Track:
    track_id: int
    raw: np.ndarray
    smooth: np.ndarray
    filter: OneEuroFilter = field(default_factory=OneEuroFilter)
    embedding: np.ndarray | None = None
    embeddings: int = 0
    slot: int | None = None  # the reference (source face) this track was last matched to

    def add_embedding(self, vector: np.ndarray, restart_distance: float = 2.0) -> None:
        """Fold one more embedding into the track's running mean; restart the mean (and forget the match)
        when ``vector`` lies further than ``restart_distance`` from it (another person)."""
        if self.embedding is not None and distance(vector, self.embedding) > restart_distance:
            self.embedding, self.embeddings, self.slot = None, 0, None
        self.embeddings += 1
        if self.embedding is None:
            self.embedding = vector.astype(np.float32)
        else:
            self.embedding = self.embedding + (vector - self.embedding) / self.embeddings

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
    """Landmarks of the faces to swap, frame by frame (call :meth:`update` once per frame in order).

    ``selection``: one of SELECTIONS. ``references``: embeddings (unit vectors of ``embed``'s kind) of the
    reference faces, one per source face (needed for ``reference``); ``embed(rgb, landmarks)`` computes
    a face's embedding; ``match_distance`` is that embedder's threshold (cosine distance).
    Raises ValueError for an unknown selection or ``reference`` without references and embedder.
    """

    def __init__(self, fps: float, selection: str = "one", references: Sequence[np.ndarray] = (),
                 embed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 match_distance: float = 0.2, detect_every: int = DETECT_EVERY,
                 max_faces: int = MAX_FACES) -> None:
        if selection not in SELECTIONS:
            raise ValueError(f"unknown face selection: {selection!r} ({', '.join(SELECTIONS)})")
        if selection == "reference" and (not references or embed is None):
            raise ValueError("face selection 'reference' needs a reference face embedding and an embedder")
        self.dt_s = 1.0 / fps if fps > 0 else 1.0 / 30
        self.selection = selection
        self.references = [np.asarray(r, dtype=np.float32) for r in references]
        self.embed = embed if selection == "reference" else None
        self.match_distance = match_distance
        self.detect_every = max(1, detect_every)
        self.max_faces = max_faces
        self.tracks: list[_Track] = []
        self._next_id = 0
        self._frame = 0
        self._selected: int | None = None
        self._thumbnail: np.ndarray | None = None

    def _scene_cut(self, rgb: np.ndarray) -> bool:
        """True when ``rgb`` differs from the previous frame as a cut does (see the module docstring)."""
        import cv2

        thumbnail = cv2.cvtColor(cv2.resize(rgb, (32, 18), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        previous, self._thumbnail = self._thumbnail, thumbnail
        return previous is not None and float(cv2.absdiff(thumbnail, previous).mean()) > CUT_DIFFERENCE

    def update(self, rgb: np.ndarray, t_s: float | None = None) -> list[np.ndarray]:
        """Track faces in ``rgb`` (H, W, 3); returns the smoothed landmarks (468, 2) float32 of the faces
        to swap, [] when none (``t_s`` is accepted for callers that pass the frame time)."""
        return [landmarks for landmarks, _slot in self.update_targets(rgb)]

    def update_targets(self, rgb: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """Like :meth:`update`, with each face's source slot: (landmarks (468, 2), index into
        ``references``; 0 for ``one`` and ``many``)."""
        keyframe = self._frame % self.detect_every == 0
        cut = self.embed is not None and self._scene_cut(rgb)
        for track in list(self.tracks):
            landmarks = mesh_in_box(rgb, track.box())
            if landmarks is None:
                self.tracks.remove(track)
                continue
            if cut:
                track.filter.reset()
                track.embedding, track.embeddings, track.slot = None, 0, None
            track.update(landmarks, self.dt_s)
            if self.embed is not None and (keyframe or cut):
                track.add_embedding(self.embed(rgb, track.raw), restart_distance=self.match_distance)
        if keyframe or not self.tracks:
            # The tiled small-face pass (4 more detector runs) matters when small faces can be chosen:
            # always for "many"/"reference", for "one" only while no face is tracked.
            small_faces_matter = self.selection != "one" or not self.tracks
            self._add_new_faces(rgb, tiled=keyframe and small_faces_matter)
        self._frame += 1
        if not self.tracks:
            self._selected = None
            return []
        if self.selection == "many":
            return [(track.smooth, 0) for track in self.tracks]
        if self.selection == "one":
            return [(self._select_largest().smooth, 0)]
        return self._select_references()

    def _add_new_faces(self, rgb: np.ndarray, tiled: bool) -> None:
        boxes = detect_boxes(rgb, tiled=tiled)
        known = [track.box() for track in self.tracks]
        fresh = [b for b in boxes if all(_box_iou(b, k) < 0.3 for k in known)]
        room = self.max_faces - len(self.tracks)
        for face in faces_in_boxes(rgb, fresh[: max(room, 0)]):
            if any(_box_iou(face.box + (1.0,), t.box()) >= 0.3 for t in self.tracks):
                continue  # the mesh settled on a face already tracked
            track = _Track(self._next_id, face.landmarks, face.landmarks.copy())
            if self.embed is not None:
                track.add_embedding(self.embed(rgb, face.landmarks))
            self.tracks.append(track)
            self._next_id += 1

    def _select_largest(self) -> _Track:
        largest = max(self.tracks, key=lambda t: t.size)
        current = next((t for t in self.tracks if t.track_id == self._selected), None)
        if current is None or largest.size > current.size * LARGEST_HYSTERESIS:
            current = largest
        self._selected = current.track_id
        return current

    def _select_references(self) -> list[tuple[np.ndarray, int]]:
        """Tracks matched to references: nearest pairs first; with one reference every face within the
        distance matches it, with several (a mapping) each reference takes at most one face."""
        pairs = []
        for track in self.tracks:
            if track.embedding is None:
                continue
            for slot, reference in enumerate(self.references):
                d = distance(track.embedding, reference)
                limit = self.match_distance * (UNMATCH_FACTOR if track.slot == slot else 1.0)
                if d <= limit:
                    pairs.append((d, track.track_id, slot))
        taken_tracks: set[int] = set()
        taken_slots: set[int] = set()
        chosen: dict[int, int] = {}
        for _d, track_id, slot in sorted(pairs):
            if track_id in taken_tracks or (len(self.references) > 1 and slot in taken_slots):
                continue
            taken_tracks.add(track_id)
            taken_slots.add(slot)
            chosen[track_id] = slot
        targets = []
        for track in self.tracks:
            track.slot = chosen.get(track.track_id)
            if track.slot is not None:
                targets.append((track.smooth, track.slot))
        return targets
