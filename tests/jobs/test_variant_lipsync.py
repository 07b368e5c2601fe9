"""The Variants option ``lipsync`` (issue 14): total shown first, refused over the daily limit, each
variant with replaced audio lip-synced on fal (loopback fake) with its cost on the render job."""

from __future__ import annotations

import pytest

from jobs import variants as variant_jobs
from jobs.queue import huey
from jobs.runner import UserFacingError
from media import batches, costs, library

LIPSYNC = "fal-ai/sync-lipsync/v2"


@pytest.fixture
def items(fresh_data_dir, fal_fake, samples):
    huey.immediate = True
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    url = fal_fake.add_file("synced.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    fal_fake.script(LIPSYNC, result={"video": {"url": url}})
    yield fal_fake, video, audio
    huey.immediate = False


def test_lipsync_batch_total_first_then_each_replaced_audio_variant_synced(items):
    fake, video, audio = items
    duration = library.get_item("video", video).duration_s
    per_variant = -(-int(duration * 5 * 1000) // 1000)  # 5 cents/s, rounded up
    shown = variant_jobs.estimate_variant_batch([video], [audio], [], 2, {"lipsync": "sync_lipsync"})
    assert shown == {"total": 2, "lipsync_variants": 2, "estimate_cents": 2 * per_variant}
    assert variant_jobs.estimate_variant_batch([video], [], [], 2, {"lipsync": "sync_lipsync"})["estimate_cents"] == 0
    created = variant_jobs.create_variant_batch([video], [audio], [], 2,
                                                {"lipsync": "sync_lipsync", "hook_duration_s": 0.5})
    status = batches.batch_status(created["batch_id"])
    assert (status["status"], status["done"]) == ("completed", 2), batches.batch_results(created["batch_id"])
    assert len(fake.submissions) == 2
    recorded = [r for r in costs.cost_records(1) if r.job_id in created["job_ids"]]
    assert sorted(r.job_id for r in recorded) == sorted(created["job_ids"])
    assert all(r.amount_cents == per_variant for r in recorded)


def test_lipsync_batch_over_the_limit_is_refused_and_creates_nothing(items):
    _, video, audio = items
    costs.set_daily_limit(5)
    try:
        with pytest.raises(costs.SpendLimitExceeded):
            variant_jobs.create_variant_batch([video], [audio], [], 2, {"lipsync": "sync_lipsync"})
    finally:
        costs.set_daily_limit(None)
    assert batches.list_batches() == []


def test_unknown_lipsync_provider_is_refused(items):
    _, video, audio = items
    with pytest.raises(UserFacingError, match="unknown lipsync provider 'wav2lip'"):
        variant_jobs.create_variant_batch([video], [audio], [], 1, {"lipsync": "wav2lip"})
