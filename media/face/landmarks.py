"""Face landmarks: MediaPipe's legacy Face Detection (full-range) + Face Mesh (468 points).

Both models ship inside the ``mediapipe==0.10.21`` wheel (``mediapipe/modules/face_detection`` and
``face_landmark``), so nothing is downloaded. Detection runs on the whole image with the full-range model
(faces up to ~5 m away) and again on overlapping tiles (a crop and upscale, since each tile is resized
to the model's 192x192 input), which finds the small faces the whole-image pass misses. Each detected face is then cropped
with a margin, upscaled when small, and given to Face Mesh in static-image mode.

MediaPipe graphs are not thread-safe: each call borrows a detector or mesh from a pool (see
:class:`_ModelPool`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The mesh crop is the face box grown by this factor (Face Mesh expects the face to fill ~60% of it).
MESH_CROP_SCALE = 1.8
# Crops smaller than this (pixels, longer side) are upscaled before Face Mesh.
MESH_MIN_CROP = 256
# Tile layout of the small-face pass: a 2x2 grid of tiles each 60% of the image's width and height.
RETRY_TILE_FRACTION = 0.6
MIN_DETECTION_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Face:
    """One face: detector box and score, and the 468 Face Mesh landmarks, all in input pixels."""

    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the input image
    score: float  # detector confidence 0..1
    landmarks: np.ndarray  # (468, 2) float32, Face Mesh points in pixels (x, y)

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the box, (x, y) in pixels."""
        x, y, w, h = self.box
        return (x + w / 2.0, y + h / 2.0)

    @property
    def area(self) -> int:
        """Box area in square pixels."""
        return int(self.box[2] * self.box[3])


class _ModelPool:
    """Idle MediaPipe graphs, handed to one thread at a time (a graph is not thread-safe).

    A pool rather than one graph per thread: job threads come and go, and a graph's memory (~35 MB for a
    detector and a mesh) is not released when its thread ends. The pool grows to the number of threads
    using it at once.
    """

    def __init__(self, factory) -> None:
        self._factory = factory
        self._idle: list = []
        self._lock = threading.Lock()

    @contextmanager
    def get(self):
        with self._lock:
            model = self._idle.pop() if self._idle else None
        if model is None:
            model = self._factory()
        try:
            yield model
        finally:
            with self._lock:
                self._idle.append(model)


def _new_detector():
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(
        model_selection=1, min_detection_confidence=MIN_DETECTION_CONFIDENCE
    )


def _new_mesh():
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=2, refine_landmarks=False, min_detection_confidence=0.4
    )


_DETECTORS = _ModelPool(_new_detector)
_MESHES = _ModelPool(_new_mesh)


def _detect_boxes(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """Full-range detections as (x, y, w, h, score) in pixels, clipped to the image."""
    h, w = rgb.shape[:2]
    with _DETECTORS.get() as detector:
        result = detector.process(np.ascontiguousarray(rgb))
    boxes = []
    for det in result.detections or []:
        rel = det.location_data.relative_bounding_box
        x0, y0 = max(rel.xmin * w, 0.0), max(rel.ymin * h, 0.0)
        x1, y1 = min((rel.xmin + rel.width) * w, w), min((rel.ymin + rel.height) * h, h)
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            boxes.append((x0, y0, x1 - x0, y1 - y0, float(det.score[0])))
    return boxes


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area (1.0 when one box holds the other)."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / smaller if smaller > 0 else 0.0


def _merge_boxes(*groups: list[tuple[float, float, float, float, float]]
                 ) -> list[tuple[float, float, float, float, float]]:
    """Union of box groups without duplicates: a box mostly inside one already kept is dropped.
    Earlier groups win, then higher scores."""
    kept: list[tuple[float, float, float, float, float]] = []
    for group in groups:
        for box in sorted(group, key=lambda b: -b[4]):
            if all(_overlap(box, other) < 0.5 for other in kept):
                kept.append(box)
    return kept


def _detect_boxes_tiled(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """Small faces: detect on a 2x2 grid of overlapping tiles (each upscaled to the model's input)."""
    h, w = rgb.shape[:2]
    tw, th = int(w * RETRY_TILE_FRACTION), int(h * RETRY_TILE_FRACTION)
    boxes: list[tuple[float, float, float, float, float]] = []
    for ty in (0, h - th):
        for tx in (0, w - tw):
            for x, y, bw, bh, s in _detect_boxes(rgb[ty : ty + th, tx : tx + tw]):
                boxes.append((x + tx, y + ty, bw, bh, s))
    return _merge_boxes(boxes)


def _crop_square(box: tuple[float, ...], width: int, height: int) -> tuple[int, int, int, int]:
    """A square crop (x0, y0, x1, y1) around the box, grown by MESH_CROP_SCALE, clipped to the image."""
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    half = max(box[2], box[3]) * MESH_CROP_SCALE / 2.0
    x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
    x1, y1 = int(min(cx + half, width)), int(min(cy + half, height))
    return x0, y0, x1, y1


def mesh_in_box(rgb: np.ndarray, box: tuple[float, ...]) -> np.ndarray | None:
    """Face Mesh landmarks (468, 2) float32 in image pixels for the face in ``box`` (x, y, w, h), or None.

    The crop around the box is upscaled to at least MESH_MIN_CROP pixels so small faces get a usable mesh.
    """
    import cv2

    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = _crop_square(box, width, height)
    crop = rgb[y0:y1, x0:x1]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return None
    scale = max(1.0, MESH_MIN_CROP / max(crop.shape[:2]))
    if scale > 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    with _MESHES.get() as mesh:
        result = mesh.process(np.ascontiguousarray(crop))
    if not result.multi_face_landmarks:
        return None
    ch, cw = crop.shape[:2]
    target = np.array([box[0] + box[2] / 2.0 - x0, box[1] + box[3] / 2.0 - y0]) * scale
    best, best_dist = None, np.inf
    for face in result.multi_face_landmarks:
        pts = np.array([(p.x * cw, p.y * ch) for p in face.landmark], dtype=np.float32)[:468]
        dist = float(np.linalg.norm(pts.mean(axis=0) - target))
        if dist < best_dist:
            best, best_dist = pts, dist
    best = best / scale + np.array([x0, y0], dtype=np.float32)
    return best.astype(np.float32)


def detect_boxes(rgb: np.ndarray, tiled: bool = True) -> list[tuple[float, float, float, float, float]]:
    """Face boxes (x, y, w, h, score) in pixels from the full-range detector, largest first.

    With ``tiled`` the detector also runs on a 2x2 grid of overlapping tiles (a crop-and-upscale pass
    that finds faces too small for the whole-image pass, e.g. ~35 px in a 720p frame); boxes found
    twice are merged.
    """
    boxes = _detect_boxes(rgb)
    if tiled:
        boxes = _merge_boxes(boxes, _detect_boxes_tiled(rgb))
    return sorted(boxes, key=lambda b: -(b[2] * b[3]))


def faces_in_boxes(rgb: np.ndarray, boxes: list[tuple[float, ...]]) -> list[Face]:
    """A :class:`Face` (with its Face Mesh) for each box (x, y, w, h, score) where the mesh finds one;
    a mesh landing on a face already found (from an overlapping box) is dropped."""
    faces: list[Face] = []
    for box in boxes:
        landmarks = mesh_in_box(rgb, box)
        if landmarks is None:
            continue
        mesh_box = _landmark_box(landmarks)
        if any(_overlap(mesh_box, _landmark_box(f.landmarks)) >= 0.5 for f in faces):
            continue
        x, y, w, h = (round(v) for v in box[:4])
        faces.append(Face(box=(x, y, w, h), score=float(box[4]), landmarks=landmarks))
    return faces


def _landmark_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = landmarks.min(axis=0), landmarks.max(axis=0)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def detect_faces(rgb: np.ndarray, max_faces: int = 5) -> list[Face]:
    """Faces in an RGB uint8 image (H, W, 3), largest first; [] when none.

    Uses MediaPipe's legacy Face Detection (full-range model, on the whole image and on 2x2 upscaled
    tiles for small faces) + Face Mesh, whose models ship inside the
    mediapipe==0.10.21 wheel. A detection for which Face Mesh finds no face is dropped.
    Raises ValueError when ``rgb`` is not an (H, W, 3) uint8 array.
    """
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"detect_faces needs an RGB uint8 (H, W, 3) array, got {getattr(rgb, 'shape', rgb)}")
    return faces_in_boxes(rgb, detect_boxes(rgb)[: max(max_faces, 0)])


def load_rgb(path: Path) -> np.ndarray:
    """Image file -> RGB uint8 array (H, W, 3), EXIF orientation applied, alpha flattened on white.

    Raises ValueError naming the file when it is not an image (or is missing).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"not a readable image: {path.name} ({exc})") from exc
