"""Animate provider ``lucy14b``: Decart's Lucy 14B image-to-video on fal (the studio's first design).

Contract (fal model page, https://fal.ai/models/decart/lucy-14b/image-to-video/llms.txt): input
``prompt`` (required), ``image_url`` (required, the first frame), ``aspect_ratio`` ("9:16" | "16:9",
default "16:9"), ``sync_mode`` (default true: the video comes back inline; false = a CDN URL, which the
studio downloads). Output ``video`` (File). Lucy renders 5-second clips (Decart's model table), so the
only duration is 5 s. Price: $0.08 per second of video.
"""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(
    id="lucy14b", label="Decart Lucy 14B (fal)", tool="animate", endpoint="decart/lucy-14b/image-to-video",
    price=Price(cents_per_unit=8.0, source="fal model page: $0.08 per second"),
    arguments=lambda urls, opts: {"prompt": opts["prompt"], "image_url": urls["image"],
                                  "aspect_ratio": "9:16", "sync_mode": False},
    billed_units=lambda opts, facts: float(opts["duration_s"]),
    options={"duration_s": (5,)},
    docs="https://fal.ai/models/decart/lucy-14b/image-to-video",
)
