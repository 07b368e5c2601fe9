"""An aligned, enlarged face close-up from Face Mesh landmarks: eyes level, face centred, square.

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


def align_face(photo: Image.Image, landmarks: np.ndarray, size: int = 512, margin: float = 1.8,
               fill: tuple[int, int, int] = (248, 247, 244)) -> Closeup:
    """Rotate the face upright (eye line level), crop a square ``margin`` times the face's extent
    around it and resample it to ``size`` pixels (bicubic, one affine pass).

    ``landmarks``: ``(468, 2)`` Face Mesh points in pixels of ``photo``. Area outside the photo is
    filled with ``fill``. Raises ``ValueError`` when the landmarks have no extent.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    left, right = eye_centers(points)
    theta = math.atan2(right[1] - left[1], right[0] - left[0])
    rot = _rotation(theta)
    mean = points.mean(axis=0)
    upright = (points - mean) @ rot  # row vectors: p' = R(-theta) (p - mean)
    low, high = upright.min(axis=0), upright.max(axis=0)
    extent = float(max(high - low))
    if extent <= 1.0:
        raise ValueError("face landmarks have no extent; cannot crop a close-up")
    side = margin * extent
    center = mean + rot @ ((low + high) / 2.0)
    scale = side / size
    a, b = scale * rot[0, 0], scale * rot[0, 1]
    d, e = scale * rot[1, 0], scale * rot[1, 1]
    half = size / 2.0
    coeffs = (a, b, center[0] - (a + b) * half, d, e, center[1] - (d + e) * half)
    image = photo.convert("RGB").transform((size, size), Image.Transform.AFFINE, coeffs,
                                           resample=Image.Resampling.BICUBIC, fillcolor=fill)
    return Closeup(image=image, angle_deg=math.degrees(theta), center=(float(center[0]), float(center[1])),
                   side_px=side)
