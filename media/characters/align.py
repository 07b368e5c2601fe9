"""An aligned face close-up from Face Mesh landmarks: eyes level, cropped to the face, square, clean edges.

Landmark indices are MediaPipe Face Mesh's canonical 468-point topology
(mediapipe/modules/face_geometry/data/canonical_face_model_uv_visualization.png): eye corners
33/133 and 362/263, forehead top 10, chin 152.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

EYE_A = (33, 133)  # one eye's outer and inner corner
EYE_B = (362, 263)  # the other eye's inner and outer corner
FOREHEAD_TOP = 10
CHIN = 152


@dataclass(frozen=True)
class Closeup:
    """The close-up image (``size`` x ``size`` pixels) and how it was taken from the photo.

    ``angle_deg``: roll of the eye line in the photo (degrees, clockwise positive since y points
    down); ``center``: the crop centre in photo pixels; ``side_px``: crop side in photo pixels
    (``side_px / size`` photo pixels per close-up pixel).
    """

    image: Image.Image
    angle_deg: float
    center: tuple[float, float]
    side_px: float


def eye_centers(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the two eyes (x, y pixels), the one on the image's left first."""
    a = landmarks[list(EYE_A)].mean(axis=0)
    b = landmarks[list(EYE_B)].mean(axis=0)
    return (a, b) if a[0] <= b[0] else (b, a)


def _rotation(theta: float) -> np.ndarray:
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


HAIR_MARGIN = 0.30  # share of the face height (forehead top to chin) kept above the forehead: the hairline
CHIN_MARGIN = 0.06  # share kept below the chin: just enough not to cut it, so hands and microphones stay out
SIDE_MARGIN = 0.12  # share of the face width kept beside each cheek at least


def align_face(photo: Image.Image, landmarks: np.ndarray, size: int = 512) -> Closeup:
    """A real close-up: the face rotated upright (eye line level) and cropped square to its own box
    from the landmarks with a modest margin, resampled to ``size`` pixels (bicubic, one affine pass).

    The box (in the upright frame) runs from :data:`HAIR_MARGIN` face heights above the forehead top
    (landmark 10) to :data:`CHIN_MARGIN` below the chin (152), and at least :data:`SIDE_MARGIN` face
    widths beside the cheeks; the square is as tall as that. The crop never leaves the photo: when the
    rotated square would, it is shrunk (never below the face itself) and then moved inside, so the
    close-up has straight, clean edges and no filled corners. ``landmarks``: ``(468, 2)`` Face Mesh
    points in pixels of ``photo``. Raises ``ValueError`` when the landmarks have no extent.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    left, right = eye_centers(points)
    theta = math.atan2(right[1] - left[1], right[0] - left[0])
    rot = _rotation(theta)
    mean = points.mean(axis=0)
    upright = (points - mean) @ rot  # row vectors: p' = R(-theta) (p - mean)
    low, high = upright.min(axis=0), upright.max(axis=0)
    top, chin = upright[FOREHEAD_TOP][1], upright[CHIN][1]
    face_h, face_w = float(chin - top), float(high[0] - low[0])
    if face_h <= 1.0 or face_w <= 1.0:
        raise ValueError("face landmarks have no extent; cannot crop a close-up")
    y0, y1 = top - HAIR_MARGIN * face_h, chin + CHIN_MARGIN * face_h
    side = max(y1 - y0, face_w * (1 + 2 * SIDE_MARGIN))
    local_center = np.array([(low[0] + high[0]) / 2.0, (y0 + y1) / 2.0])
    center = mean + rot @ local_center
    side, center = _fit_inside(photo.size, center, side, theta, min_side=max(face_h, face_w))
    scale = side / size
    a, b = scale * rot[0, 0], scale * rot[0, 1]
    d, e = scale * rot[1, 0], scale * rot[1, 1]
    half = size / 2.0
    coeffs = (a, b, center[0] - (a + b) * half, d, e, center[1] - (d + e) * half)
    image = photo.convert("RGB").transform((size, size), Image.Transform.AFFINE, coeffs,
                                           resample=Image.Resampling.BICUBIC)
    return Closeup(image=image, angle_deg=math.degrees(theta), center=(float(center[0]), float(center[1])),
                   side_px=side)


def _fit_inside(photo_size: tuple[int, int], center: np.ndarray, side: float, theta: float,
                min_side: float) -> tuple[float, np.ndarray]:
    """Shrink (down to ``min_side``) and then move a square of ``side`` pixels rotated by ``theta`` so
    that its four corners lie inside the photo (``(width, height)`` pixels, one pixel kept free for
    the bicubic kernel). Returns (side, centre); a photo smaller than the face keeps the face centred."""
    width, height = photo_size[0] - 2.0, photo_size[1] - 2.0
    spread = abs(math.cos(theta)) + abs(math.sin(theta))  # half extent of the rotated square / half side
    room = 2.0 * min(center[0] - 1, width + 1 - center[0], center[1] - 1, height + 1 - center[1]) / spread
    side = max(min(side, room), min(min_side, 2.0 * min(width, height) / (2.0 * spread)), 2.0)
    half = side * spread / 2.0
    cx = center[0] if 2 * half > width else min(max(center[0], 1 + half), 1 + width - half)
    cy = center[1] if 2 * half > height else min(max(center[1], 1 + half), 1 + height - half)
    return side, np.array([cx, cy])
