"""Animate provider ``kling21``: Kling 2.1 (standard) image-to-video on fal.

Contract (fal model page, https://fal.ai/models/fal-ai/kling-video/v2.1/standard/image-to-video/llms.txt):
input ``prompt`` (required), ``image_url`` (required), ``duration`` ("5" | "10", default "5"),
``negative_prompt`` (default "blur, distort, and low quality"), ``cfg_scale`` (0..1, default 0.5).
Output ``video`` (File). The endpoint has no aspect-ratio input (the video follows the image), so the
studio crops the image to 9:16 before uploading. Price: $0.28 for 5 s, $0.056 per extra second.
"""

from __future__ import annotations

from jobs.providers import Price, Provider


def _arguments(urls: dict[str, str], opts: dict) -> dict:
    args = {"prompt": opts["prompt"], "image_url": urls["image"], "duration": str(int(opts["duration_s"]))}
    if opts.get("negative_prompt"):
        args["negative_prompt"] = opts["negative_prompt"]
    return args


PROVIDER = Provider(
    id="kling21", label="Kling 2.1 standard (fal)", tool="animate",
    endpoint="fal-ai/kling-video/v2.1/standard/image-to-video",
    price=Price(cents_per_unit=5.6, base_cents=28.0, base_units=5.0,
                source="fal model page: $0.28 for 5 s, $0.056 per additional second"),
    arguments=_arguments, billed_units=lambda opts, facts: float(opts["duration_s"]),
    options={"duration_s": (5, 10)},
    docs="https://fal.ai/models/fal-ai/kling-video/v2.1/standard/image-to-video",
)
