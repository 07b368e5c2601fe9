"""Lip-sync provider ``sync_lipsync``: Sync Lipsync 2.0 on fal.

Contract (fal model page, https://fal.ai/models/fal-ai/sync-lipsync/v2/llms.txt): input ``video_url``
and ``audio_url`` (required), ``model`` ("lipsync-2" | "lipsync-2-pro", default "lipsync-2"),
``sync_mode`` ("cut_off" | "loop" | "bounce" | "silence" | "remap", default "cut_off"). Output ``video``
(File). The studio sends ``lipsync-2`` with ``cut_off``: the output lasts min(video, audio) seconds.
Price: $3 per minute of video (5 cents per second).
"""

from __future__ import annotations

from jobs.providers import Price, Provider

PROVIDER = Provider(
    id="sync_lipsync", label="Sync Lipsync 2.0 (fal)", tool="lipsync", endpoint="fal-ai/sync-lipsync/v2",
    price=Price(cents_per_unit=5.0, source="fal model page: $3 per minute of video"),
    arguments=lambda urls, opts: {"video_url": urls["video"], "audio_url": urls["audio"],
                                  "model": "lipsync-2", "sync_mode": "cut_off"},
    billed_units=lambda opts, facts: min(facts.get("video_s", 0.0), facts.get("audio_s", 0.0)),
    docs="https://fal.ai/models/fal-ai/sync-lipsync/v2",
)
