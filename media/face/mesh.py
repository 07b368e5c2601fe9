"""The face mesh's triangulation and regions, over MediaPipe Face Mesh's 468 landmark indices.

Region loops are MediaPipe's own connection sets (``mp.solutions.face_mesh.FACEMESH_FACE_OVAL`` and the
inner ring of ``FACEMESH_LIPS``) written out as ordered index loops.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 468

# Face outline, ordered (from FACEMESH_FACE_OVAL).
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
    176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
# Inner lip contour, ordered (the inner ring of FACEMESH_LIPS): the opening of the mouth.
INNER_LIPS: tuple[int, ...] = (
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
)
# The upper arc of the outline (forehead) and the point between the eyebrows it is pulled toward.
FOREHEAD_ARC: tuple[int, ...] = (54, 103, 67, 109, 10, 338, 297, 332, 284)
BETWEEN_BROWS = 9
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
LEFT_MOUTH_CORNER, RIGHT_MOUTH_CORNER = 78, 308


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangulation of landmark points (N, 2) -> triangles (M, 3) int32 of point indices.

    Triangles with (almost) zero area are dropped so every triangle has an invertible affine map.
    Raises ValueError for fewer than 3 points.
    """
    from scipy.spatial import Delaunay

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"triangulate needs (N>=3, 2) points, got {pts.shape}")
    simplices = Delaunay(pts).simplices.astype(np.int32)
    a, b, c = pts[simplices[:, 0]], pts[simplices[:, 1]], pts[simplices[:, 2]]
    area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    return simplices[area > 1e-6 * max(float(np.ptp(pts[:, 0]) * np.ptp(pts[:, 1])), 1e-9)]


def swap_outline(landmarks: np.ndarray, forehead: float = 0.65) -> np.ndarray:
    """The face outline (len(FACE_OVAL), 2) with its forehead arc pulled toward the point between the
    eyebrows to ``forehead`` of its height: hair over the forehead (fringes) and the hairline stay the
    target's, the usual seam of mesh-based swaps."""
    outline = landmarks[list(FACE_OVAL)].astype(np.float32).copy()
    anchor = landmarks[BETWEEN_BROWS]
    for k, index in enumerate(FACE_OVAL):
        if index in FOREHEAD_ARC:
            outline[k] = anchor + (landmarks[index] - anchor) * forehead
    return outline


def face_size(landmarks: np.ndarray) -> float:
    """Width of the face outline in pixels (a scale for tolerances and filters)."""
    oval = landmarks[list(FACE_OVAL)]
    return float(max(np.ptp(oval[:, 0]), np.ptp(oval[:, 1]), 1.0))


def mouth_openness(landmarks: np.ndarray) -> float:
    """Inner-lip gap divided by mouth width (0 = closed, ~0.5 = wide open)."""
    gap = np.linalg.norm(landmarks[UPPER_INNER_LIP] - landmarks[LOWER_INNER_LIP])
    width = np.linalg.norm(landmarks[LEFT_MOUTH_CORNER] - landmarks[RIGHT_MOUTH_CORNER])
    return float(gap / width) if width > 0 else 0.0
