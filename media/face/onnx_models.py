"""Learned face models run with onnxruntime: the ArcFace embedder, FaceFusion-compatible swap models
(inswapper 128, HyperSwap 256) and face enhancers (GFPGAN 1.4, GPEN 512).

Every model works on an aligned crop: the face's five points (eye centres, nose tip, mouth corners,
taken from the Face Mesh landmarks) are fitted with a similarity transform onto the model's five-point
template, scaled to its input size. Templates, sizes, normalisation and embedding conversion are those
of each model's training as FaceFusion documents them (``facefusion/face_helper.py`` WARP_TEMPLATE_SET,
``processors/modules/face_swapper/core.py`` and ``face_enhancer/core.py``):

- ArcFace (``arcface_w600k_r50``): template ``arcface_112_v2`` at 112 px, RGB scaled to -1..1, output a
  512-d identity embedding.
- inswapper 128: template ``arcface_128`` at 128 px, RGB 0..1; its ``source`` input is the *latent*
  ``e @ emap / |e|`` of the raw ArcFace embedding ``e``, where ``emap`` (512 x 512) is the last initializer
  stored in the model file; output RGB 0..1.
- HyperSwap 1a 256: template ``arcface_128`` at 256 px, RGB normalised to -1..1, ``source`` = the
  L2-normalised embedding; output -1..1 (de-normalised here).
- GFPGAN 1.4 / GPEN 512: template ``ffhq_512`` at 512 px, RGB -1..1 in and out.

Sessions are created on first use (lazy) and pooled: each worker thread borrows an idle session of a
model (or creates one), so parallel jobs never share a session and a session outlives its thread.
Providers: CUDA or CoreML first when this onnxruntime build has them, then CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from media import model_store

# Five-point templates, as fractions of the crop side (x, y): left eye, right eye (image left/right), nose
# tip, left and right mouth corner. Values of the standard ArcFace/FFHQ alignments (see module docstring).
TEMPLATES: dict[str, np.ndarray] = {
    "arcface_112_v2": np.array([[0.34191607, 0.46157411], [0.65653393, 0.45983393], [0.50022500, 0.64050536],
                                [0.37097589, 0.82469196], [0.63151696, 0.82325089]], dtype=np.float32),
    "arcface_128": np.array([[0.36167656, 0.40387734], [0.63696719, 0.40235469], [0.50019687, 0.56044219],
                             [0.38710391, 0.72160547], [0.61507734, 0.72034453]], dtype=np.float32),
    "ffhq_512": np.array([[0.37691676, 0.46864664], [0.62285697, 0.46912813], [0.50123859, 0.61331904],
                          [0.39308822, 0.72541100], [0.61150205, 0.72490465]], dtype=np.float32),
}
# Face Mesh indices of the five points: eye corners (averaged to eye centres), nose tip, mouth corners.
_LEFT_EYE, _RIGHT_EYE = (33, 133), (362, 263)
_NOSE_TIP, _MOUTH_LEFT, _MOUTH_RIGHT = 4, 61, 291


@dataclass(frozen=True)
class SwapModelInfo:
    """How to run one swap model: ``kind`` (inswapper | hyperswap), template, input size (pixels),
    normalisation mean/std of its target input."""

    kind: str
    template: str
    size: int
    mean: float
    std: float


SWAP_MODEL_INFO: dict[str, SwapModelInfo] = {
    "inswapper_128_fp16": SwapModelInfo("inswapper", "arcface_128", 128, 0.0, 1.0),
    "hyperswap_1a_256": SwapModelInfo("hyperswap", "arcface_128", 256, 0.5, 0.5),
}
ENHANCER_TEMPLATE, ENHANCER_SIZE = "ffhq_512", 512


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(5, 2) float32 points from Face Mesh landmarks (468, 2): image-left eye centre, image-right eye
    centre, nose tip, image-left and image-right mouth corner."""
    return np.stack([landmarks[list(_LEFT_EYE)].mean(axis=0), landmarks[list(_RIGHT_EYE)].mean(axis=0),
                     landmarks[_NOSE_TIP], landmarks[_MOUTH_LEFT], landmarks[_MOUTH_RIGHT]]).astype(np.float32)


def align_matrix(points: np.ndarray, template: str, size: int) -> np.ndarray:
    """2x3 similarity transform (rotation, uniform scale, shift) taking ``points`` (5, 2) onto the
    template scaled to ``size`` pixels (least squares)."""
    matrix, _ = cv2.estimateAffinePartial2D(points, TEMPLATES[template] * size, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("the face's five points are degenerate; no alignment")
    return matrix


def aligned_crop(rgb: np.ndarray, points: np.ndarray, template: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(crop (size, size, 3) uint8, 2x3 matrix image -> crop) of the face with five ``points``."""
    matrix = align_matrix(points, template, size)
    crop = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return crop, matrix


def _to_tensor(crop: np.ndarray, mean: float, std: float) -> np.ndarray:
    x = (crop.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def _from_tensor(out: np.ndarray, mean: float, std: float) -> np.ndarray:
    x = out[0].astype(np.float32).transpose(1, 2, 0) * std + mean
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def execution_providers() -> list[str]:
    """onnxruntime providers to use: CUDA / CoreML when available, then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CoreMLExecutionProvider") if p in available] + [
        "CPUExecutionProvider"]


class _SessionPool:
    """Idle onnxruntime sessions per model file, lent to one thread at a time, created on demand."""

    def __init__(self) -> None:
        self._idle: dict[Path, list] = {}
        self._lock = threading.Lock()

    @contextmanager
    def get(self, path: Path) -> Iterator:
        with self._lock:
            idle = self._idle.setdefault(path, [])
            session = idle.pop() if idle else None
        if session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 0
            try:
                session = ort.InferenceSession(str(path), sess_options=options, providers=execution_providers())
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
                raise model_store.ModelDownloadError(
                    f"the model file {path.name} cannot be loaded ({exc}); delete and download it again in "
                    f"{model_store.SETTINGS_BUTTON}") from exc
        try:
            yield session
        finally:
            with self._lock:
                self._idle.setdefault(path, []).append(session)

    def clear(self) -> None:
        """Drop every idle session (after a model file is replaced or deleted)."""
        with self._lock:
            self._idle.clear()


SESSIONS = _SessionPool()


def _run(name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """First output of model ``name`` for ``feeds`` (cast to each input's declared float type)."""
    with SESSIONS.get(model_store.require_model(name)) as session:
        typed = {}
        for spec in session.get_inputs():
            value = feeds[spec.name]
            typed[spec.name] = value.astype(np.float16 if spec.type == "tensor(float16)" else np.float32)
        return session.run(None, typed)[0]


def arcface_embedding(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Raw 512-d ArcFace embedding (float32) of the face with five ``points`` in ``rgb`` (H, W, 3)."""
    crop, _ = aligned_crop(rgb, points, "arcface_112_v2", 112)
    return _run("arcface_w600k_r50", {"input": _to_tensor(crop, 0.5, 0.5)}).reshape(-1).astype(np.float32)


_EMAPS: dict[Path, np.ndarray] = {}


def inswapper_emap(path: Path) -> np.ndarray:
    """The (512, 512) embedding map stored as the last initializer of an inswapper model file."""
    if path not in _EMAPS:
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        _EMAPS[path] = numpy_helper.to_array(model.graph.initializer[-1]).astype(np.float32)
    return _EMAPS[path]


def source_vector(model: str, embedding: np.ndarray) -> np.ndarray:
    """The ``source`` input (1, 512) of swap ``model`` for a raw ArcFace ``embedding``."""
    info = SWAP_MODEL_INFO[model]
    norm = float(np.linalg.norm(embedding)) or 1.0
    if info.kind == "inswapper":
        emap = inswapper_emap(model_store.require_model(model))
        return (embedding.reshape(1, -1) @ emap / norm).astype(np.float32)
    return (embedding / norm).reshape(1, -1).astype(np.float32)


def swap_crop(model: str, crop: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Run swap ``model`` on an aligned target ``crop`` (size, size, 3) uint8 with ``source`` (1, 512);
    returns the swapped crop, same shape, uint8 RGB."""
    info = SWAP_MODEL_INFO[model]
    out = _run(model, {"target": _to_tensor(crop, info.mean, info.std), "source": source})
    if info.kind == "inswapper":
        return _from_tensor(out, 0.0, 1.0)
    return _from_tensor(out, info.mean, info.std)


def enhance_crop(model: str, crop: np.ndarray) -> np.ndarray:
    """Run enhancer ``model`` on an aligned ``ffhq_512`` crop (512, 512, 3) uint8; same shape out."""
    return _from_tensor(_run(model, {"input": _to_tensor(crop, 0.5, 0.5)}), 0.5, 0.5)


def box_mask(size: int, blur: float = 0.3, padding: float = 0.0) -> np.ndarray:
    """float32 (size, size) 1 inside, fading to 0 over ``blur`` x half the side at the crop's border."""
    blur_px = max(int(size * 0.5 * blur), 1)
    mask = np.ones((size, size), dtype=np.float32)
    edge = max(blur_px // 2, 1) + int(size * padding)
    mask[:edge, :] = mask[-edge:, :] = 0
    mask[:, :edge] = mask[:, -edge:] = 0
    return cv2.GaussianBlur(mask, (0, 0), blur_px * 0.25 + 0.5)


def paste_back(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray,
               amount: float = 1.0) -> tuple[slice, slice] | None:
    """Warp ``crop`` back through the inverse of ``matrix`` and blend it into ``frame`` (in place) with
    ``mask`` (crop-sized float 0..1) times ``amount``; returns the changed (rows, cols) slices."""
    h, w = frame.shape[:2]
    size = crop.shape[0]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], dtype=np.float32)
    pts = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int), 0, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    local = inverse.copy()
    local[0, 2] -= x0
    local[1, 2] -= y0
    region = (slice(y0, y1), slice(x0, x1))
    size_wh = (int(x1 - x0), int(y1 - y0))
    face = cv2.warpAffine(crop, local, size_wh, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask.astype(np.float32), local, size_wh, flags=cv2.INTER_LINEAR) * float(amount)
    roi = frame[region]
    frame[region] = cv2.blendLinear(face, roi, np.ascontiguousarray(alpha),
                                    np.ascontiguousarray(1.0 - alpha))
    return region
