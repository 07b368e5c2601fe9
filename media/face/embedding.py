"""Face embeddings for choosing faces: the ``reference`` face selection (faces close to a reference face)
and the face mapping (source face A onto target face 1, B onto 2) compare faces by embedding distance.

Two embedders, one distance (cosine distance, 0 = the same vector, ~1 = unrelated):

- ``arcface``: the 512-d ArcFace (w600k r50) embedding of :mod:`media.face.onnx_models`, when it is
  downloaded (Settings > Models; the ``onnx`` engine always has it). A learned identity embedding.
- ``lbp``: offline, nothing to download: local binary pattern histograms (Ahonen, Hadid, Pietikäinen,
  "Face Description with Local Binary Patterns: Application to Face Recognition", IEEE TPAMI 2006) of the
  face's 112 px ArcFace-aligned crop (grey, histogram-equalised), uniform patterns (58 + 1 bins, radius 1,
  8 neighbours) on a 7x7 grid of cells, each cell's histogram square-rooted (Hellinger) and the whole
  vector L2-normalised. Weaker than ArcFace (it sees texture, not identity), good enough to tell the
  people of one video apart and to find one of them again after a cut.

Distances of the two embedders are not comparable: each has its own threshold (``MATCH_DISTANCE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

EmbedderName = Literal["arcface", "lbp"]
# Cosine distance under which two faces are taken as the same person (reference selection, mapping).
# lbp: calibrated on the samples (one person across 4 s of a video: 0.05-0.14; two different people of
# the samples: 0.21 and up); arcface: same-person cosine similarity is usually above 0.4.
MATCH_DISTANCE: dict[str, float] = {"arcface": 0.6, "lbp": 0.18}
CROP_SIZE = 112
GRID = 7


def _uniform_table() -> np.ndarray:
    """uint8 (256,): uniform LBP code (at most two 0/1 transitions around the circle) -> bin 0..57,
    every other code -> 58."""
    table = np.full(256, 58, dtype=np.uint8)
    index = 0
    for code in range(256):
        bits = [(code >> k) & 1 for k in range(8)]
        if sum(bits[k] != bits[(k + 1) % 8] for k in range(8)) <= 2:
            table[code] = index
            index += 1
    return table


_UNIFORM = _uniform_table()


def lbp_embedding(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(GRID * GRID * 59,) float32 LBP embedding (unit length) of the face with Face Mesh ``landmarks``
    (468, 2, pixels) in ``rgb`` (H, W, 3 RGB uint8); see the module docstring."""
    from media.face.onnx_models import aligned_crop, five_points

    crop, _ = aligned_crop(rgb, five_points(landmarks), "arcface_112_v2", CROP_SIZE)
    grey = cv2.equalizeHist(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
    grey = cv2.GaussianBlur(grey, (3, 3), 0).astype(np.int16)
    centre = grey[1:-1, 1:-1]
    code = np.zeros(centre.shape, dtype=np.uint8)
    # Neighbours in circular order, starting at the top-left.
    for bit, (dy, dx) in enumerate(((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))):
        neighbour = grey[1 + dy: grey.shape[0] - 1 + dy, 1 + dx: grey.shape[1] - 1 + dx]
        code |= (neighbour >= centre).astype(np.uint8) << bit
    bins = _UNIFORM[code]
    h, w = bins.shape
    rows = np.minimum(np.arange(h) * GRID // h, GRID - 1)
    cols = np.minimum(np.arange(w) * GRID // w, GRID - 1)
    cell = rows[:, None] * GRID + cols[None, :]
    hist = np.bincount((cell * 59 + bins).ravel(), minlength=GRID * GRID * 59).astype(np.float32)
    vector = np.sqrt(hist)
    return vector / max(float(np.linalg.norm(vector)), 1e-6)


def arcface_unit_embedding(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(512,) float32 unit-length ArcFace embedding of the face (needs ``arcface_w600k_r50`` downloaded;
    raises :class:`media.model_store.ModelMissing` otherwise)."""
    from media.face.onnx_models import arcface_embedding, five_points

    vector = arcface_embedding(rgb, five_points(landmarks))
    return vector / max(float(np.linalg.norm(vector)), 1e-6)


Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]
EMBEDDERS: dict[str, Embedder] = {"arcface": arcface_unit_embedding, "lbp": lbp_embedding}


def embedder(name: EmbedderName) -> Embedder:
    """The embedding function ``(rgb, landmarks) -> unit vector`` called ``name``; ValueError if unknown."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown face embedder {name!r} (known: {', '.join(EMBEDDERS)})")
    return EMBEDDERS[name]


def default_embedder() -> EmbedderName:
    """``arcface`` when its model is downloaded, else ``lbp``."""
    from media.model_store import missing_models

    return "lbp" if missing_models(("arcface_w600k_r50",)) else "arcface"


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine distance 1 - cos(a, b) of two embeddings (0 = same direction, 2 = opposite)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 1.0
    return float(1.0 - np.dot(a, b) / (na * nb))
