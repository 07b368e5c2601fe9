"""The ``onnx`` engine's per-face work: a learned swap model, and a face enhancer both engines can use.

A swap: the target face's aligned crop (:mod:`media.face.onnx_models`) goes through the swap model with
the source photo's identity vector; the result is pasted back through the inverse alignment with a
mask that is the product of a soft box (the crop's border fades out), the target's face outline and the
target frame's occlusion mask (:mod:`media.face.occlusion`: glasses, hands, a microphone stay in front),
all in crop space. The model itself keeps the target's pose, expression and lighting.

An enhance: the face region (ffhq_512 crop) through GFPGAN / GPEN, blended by ``amount`` into the
frame only inside the face outline (feathered), so nothing outside the swapped face changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from media.face import onnx_models
from media.face.blend import feather_mask
from media.face.landmarks import Face
from media.face.mesh import FACE_OVAL, face_size
from media.face.occlusion import visible_skin_mask
from media.model_store import missing_models, require_model

ENHANCER_FEATHER = 0.04
# The paste mask's edge fades out over this share of the face size, inside the face outline.
PASTE_FEATHER = 0.04


@dataclass(frozen=True)
class OnnxSource:
    """The source identity for swap ``model``: its (1, 512) source vector."""

    model: str
    vector: np.ndarray


def check_models(model: str, enhancer: str = "") -> None:
    """Raise :class:`media.model_store.ModelMissing` (naming the model and the Settings button) unless
    ``model``, the models it needs and ``enhancer`` (when given) are downloaded."""
    if model not in onnx_models.SWAP_MODEL_INFO:
        from media.errors import InvalidInput

        raise InvalidInput(f"unknown swap model {model!r} (known: {', '.join(onnx_models.SWAP_MODEL_INFO)})")
    names = [model] + ([enhancer] if enhancer else [])
    for name in missing_models(names):
        require_model(name)


def check_enhancer(enhancer: str) -> None:
    """Raise InvalidInput for an unknown enhancer, ModelMissing when it is not downloaded."""
    from media.model_store import ENHANCER_MODELS

    if enhancer not in ENHANCER_MODELS:
        from media.errors import InvalidInput

        raise InvalidInput(f"unknown face enhancer {enhancer!r} (known: {', '.join(ENHANCER_MODELS)})")
    require_model(enhancer)


def prepare_onnx_source(model: str, rgb: np.ndarray, face: Face) -> OnnxSource:
    """The identity of ``face`` in photo ``rgb`` (H, W, 3 RGB) as swap ``model``'s source vector."""
    embedding = onnx_models.arcface_embedding(rgb, onnx_models.five_points(face.landmarks))
    return OnnxSource(model, onnx_models.source_vector(model, embedding))


def _outline_mask(shape: tuple[int, int], landmarks: np.ndarray, matrix: np.ndarray | None = None) -> np.ndarray:
    points = landmarks[list(FACE_OVAL)].astype(np.float32)
    if matrix is not None:
        points = points @ matrix[:, :2].T + matrix[:, 2]
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    return mask


def swap_face_onnx(frame: np.ndarray, source: OnnxSource, target: np.ndarray, occlusion: bool = True
                   ) -> tuple[slice, slice] | None:
    """Swap the face with landmarks ``target`` (468, 2) in ``frame`` (H, W, 3 RGB uint8, changed in
    place) with the learned model; returns the changed (rows, cols) region or None."""
    info = onnx_models.SWAP_MODEL_INFO[source.model]
    points = onnx_models.five_points(target)
    crop, matrix = onnx_models.aligned_crop(frame, points, info.template, info.size)
    swapped = onnx_models.swap_crop(source.model, crop, source.vector)
    crop_landmarks = target @ matrix[:, :2].T + matrix[:, 2]
    # The target's face outline always bounds the paste; the occlusion mask (inside that outline) also
    # leaves out what covers the face.
    keep = (visible_skin_mask(crop, crop_landmarks) if occlusion
            else _outline_mask((info.size, info.size), crop_landmarks))
    keep = feather_mask(keep, round(max(PASTE_FEATHER * face_size(crop_landmarks), 1.0)))  # fades out inside
    mask = np.minimum(onnx_models.box_mask(info.size), keep)
    return onnx_models.paste_back(frame, swapped, matrix, mask)


def enhance_face(frame: np.ndarray, enhancer: str, target: np.ndarray, amount: float) -> tuple[slice, slice] | None:
    """Run face enhancer ``enhancer`` on the face with landmarks ``target`` (468, 2) in ``frame``
    (changed in place) and blend ``amount`` (0..1) of it inside the face outline only."""
    if amount <= 0:
        return None
    size = onnx_models.ENHANCER_SIZE
    crop, matrix = onnx_models.aligned_crop(frame, onnx_models.five_points(target), onnx_models.ENHANCER_TEMPLATE,
                                            size)
    enhanced = onnx_models.enhance_crop(enhancer, crop)
    crop_landmarks = target @ matrix[:, :2].T + matrix[:, 2]
    outline = _outline_mask((size, size), target, matrix)
    feather = max(ENHANCER_FEATHER * face_size(crop_landmarks), 1.0)
    outline = cv2.erode(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)), iterations=int(feather))
    mask = cv2.GaussianBlur(outline, (0, 0), feather).astype(np.float32) / 255.0
    return onnx_models.paste_back(frame, enhanced, matrix, mask, amount=min(max(amount, 0.0), 1.0))
