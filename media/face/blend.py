"""Blending the warped face into the frame: Poisson seamless cloning (``cv2.seamlessClone``, Pérez et
al., "Poisson Image Editing", SIGGRAPH 2003) and feathered alpha blending.

Seamless cloning keeps the source's gradients and takes the boundary colours from the frame, so
lighting and skin tone follow the target. For speed the Poisson solve runs at a reduced scale: the
clone's correction (result - source) is a membrane interpolant of the boundary differences, smooth by
construction, so it is solved small, upsampled and added to the full-resolution warped face.
"""

from __future__ import annotations

import cv2
import numpy as np

# Largest side (pixels) of the region the Poisson solve runs at; bigger regions are solved downscaled.
SEAMLESS_MAX_SIDE = 96


def feather_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """float32 alpha 0..1 from a 0/255 mask: eroded by ``radius`` pixels then blurred, so the edge fades
    out inside the mask (the alpha is ~0 outside it)."""
    radius = max(int(radius), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    eroded = cv2.erode(mask, kernel)
    blurred = cv2.GaussianBlur(eroded, (0, 0), sigmaX=radius / 2.0 + 0.5)
    return blurred.astype(np.float32) * (1.0 / 255.0)


def alpha_blend(face: np.ndarray, frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``face * alpha + frame * (1 - alpha)``; images (H, W, 3) uint8, alpha (H, W) float32 0..1."""
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    return cv2.blendLinear(face, frame, alpha, 1.0 - alpha)


def _clone(face: np.ndarray, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """cv2.seamlessClone placing the face where it already is.

    OpenCV puts the mask's bounding box (x, y, w, h) at ``center - (w // 2, h // 2)`` in the frame
    (modules/photo/src/seamless_cloning.cpp), so ``center = (x + w // 2, y + h // 2)`` is no shift.
    """
    x, y, bw, bh = cv2.boundingRect(mask)
    return cv2.seamlessClone(face, frame, mask, (x + bw // 2, y + bh // 2), cv2.NORMAL_CLONE)


def _clear_border(mask: np.ndarray, width: int = 2) -> np.ndarray:
    out = mask.copy()
    out[:width, :] = 0
    out[-width:, :] = 0
    out[:, :width] = 0
    out[:, -width:] = 0
    return out


def poisson_correct(face: np.ndarray, frame: np.ndarray, mask: np.ndarray,
                    max_side: int = SEAMLESS_MAX_SIDE) -> np.ndarray:
    """``face`` (H, W, 3) uint8 with the seamless-cloning correction toward ``frame`` (same size) applied
    inside ``mask`` (0/255): the face's detail with the frame's colours at the mask's edge.

    The solve runs at most ``max_side`` pixels on the longer side. Returns ``face`` unchanged when the
    mask is (nearly) empty.
    """
    h, w = mask.shape
    if h < 8 or w < 8:
        return face
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        inner = _clear_border(mask)
        if cv2.countNonZero(inner) < 16:
            return face
        return _clone(face, frame, inner)
    size = (max(round(w * scale), 8), max(round(h * scale), 8))
    small_face = cv2.resize(face, size, interpolation=cv2.INTER_AREA)
    small_frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    small_mask = _clear_border(cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST))
    if cv2.countNonZero(small_mask) < 16:
        return face
    cloned = _clone(small_face, small_frame, small_mask)
    correction = cv2.subtract(cloned, small_face, dtype=cv2.CV_16S)
    correction = cv2.resize(correction, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(face, correction, dtype=cv2.CV_8U)


def seamless_clone(face: np.ndarray, frame: np.ndarray, mask: np.ndarray,
                   max_side: int = SEAMLESS_MAX_SIDE) -> np.ndarray:
    """Poisson-clone ``face`` into ``frame`` (both (H, W, 3) uint8) inside ``mask`` (0/255).

    Returns a new image; outside the mask it equals ``frame``.
    """
    corrected = poisson_correct(face, frame, mask, max_side)
    scale = min(1.0, max_side / max(mask.shape))
    return alpha_blend(corrected, frame, feather_mask(mask, max(2, round(1.0 / scale))))
