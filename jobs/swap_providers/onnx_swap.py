"""The ``onnx`` face-swap provider: FaceFusion-compatible learned swap models run with onnxruntime,
offline once the creator has downloaded them (Settings > Models; nothing is downloaded by a job).

Same pipeline as ``local`` (FFmpeg decode -> Face Mesh tracking -> per-face work -> FFmpeg encode, the
synthetic-media marks, the optional face enhancer); the per-face work is
:func:`media.face.onnx_swap.swap_face_onnx`: inswapper 128 or HyperSwap 256 on the aligned crop with the
photo's ArcFace identity, pasted back under the occlusion mask. A missing model fails before anything is
queued, with a message naming the model and the Settings button.
"""

from __future__ import annotations

import numpy as np

from jobs.swap_providers.base import SwapOptions
from jobs.swap_providers.local import LocalSwapProvider
from media.face.landmarks import Face
from media.settings import get_settings


class OnnxSwapProvider(LocalSwapProvider):
    """Learned-model face swap (see the module docstring)."""

    name = "onnx"
    needs_key = False

    def model(self, options: SwapOptions) -> str:
        """The swap model of a job: its option, else the setting ``NOVAI_SWAP_ONNX_MODEL``."""
        return options.swap_model or get_settings().swap_onnx_model

    def check(self, options: SwapOptions) -> None:
        """Raise ModelMissing / InvalidInput unless the swap model, its embedder and the enhancer are here."""
        from media.face.onnx_swap import check_models

        check_models(self.model(options))
        super().check(options)

    def face_swapper(self, rgb: np.ndarray, face: Face, options: SwapOptions):
        """``(frame, landmarks) -> None`` swapping one face in place with the learned model."""
        from media.face.onnx_swap import prepare_onnx_source, swap_face_onnx

        source = prepare_onnx_source(self.model(options), rgb, face)
        return lambda frame, landmarks: swap_face_onnx(frame, source, landmarks)
