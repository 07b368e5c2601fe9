"""Swap provider ``onnx``: FaceFusion-compatible learned swap models (inswapper 128, HyperSwap 256) run with
onnxruntime, offline and free once downloaded in Settings > Models (media/model_store.py)."""

from __future__ import annotations

from jobs.providers import Provider

PROVIDER = Provider(id="onnx", label="Learned swap models (offline, download in Settings > Models)", tool="swap",
                    key_variables=(),
                    settings_fields=("swap_onnx_model", "swap_enhancer", "swap_enhancer_blend", "swap_ai_label"),
                    impl="jobs.swap_providers.onnx_swap:OnnxSwapProvider")
