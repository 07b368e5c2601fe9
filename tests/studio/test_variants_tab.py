"""The Variants tab's handlers as Gradio calls them: plan count, start, poll, keep, cancel."""

from __future__ import annotations

import pytest

from jobs.queue import huey
from media import hooks, library
from studio import variants_tab as tab


@pytest.fixture
def items(fresh_data_dir, samples):
    huey.immediate = True
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video", "clips").id
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    hook_ids = [h.id for h in hooks.add_hooks("one\ntwo\nthree", "tips")]
    yield video, audio, hook_ids
    huey.immediate = False


OPTS = ["round_robin", 0, "top", 0, 1, 0, "#FFFFFF", "#000000", False, "replace", "blur"]


def test_plan_start_poll_keep(items):
    video, audio, _hook_ids = items
    collection = library.get_item("video", video).collection_id
    plan = tab._plan_text([collection], [], [], [audio], ["tips"], [], 2, "round_robin")
    assert plan.startswith("**2 variant(s)** from 1 video(s), 1 audio track(s), 3 hook(s)")
    assert "**3 variant(s)**" in tab._plan_text([], [video], [], [audio], ["tips"], [], 2, "cartesian")
    batch_id, message, _ = tab._start([collection], [], [], [audio], ["tips"], [], 2, *OPTS)
    assert "2 variants" in message
    bar, info, rows, gallery, downloads, keep, shown, picker = tab._poll(batch_id, None)
    assert "completed" in bar and "expires" in info
    assert tab.RESULT_HEADERS[:2] == ["status", "error / warning"]  # visible without scrolling
    hook_col = tab.RESULT_HEADERS.index("hook")
    assert [row[hook_col] for row in rows] == ["one", "two"] and all("completed" in row[0] for row in rows)
    assert len(gallery) == 2 and len(downloads) == 2
    assert any("completed" in label for label, _ in picker["choices"])
    again = tab._poll(batch_id, shown)
    assert again[3] == {"__type__": "update"}  # unchanged gallery is not re-sent
    variant_id = keep["choices"][0][1]
    assert "kept in the library" in tab._keep(variant_id)


def test_bad_start_is_a_message_not_a_crash(items):
    _batch_id, message, _ = tab._start([], [], [], [], [], [], 1, *OPTS)
    assert "select at least one video" in message


def test_the_lipsync_total_is_in_the_plan_and_the_batch_is_refused_over_the_limit(items, fal_fake):
    from media import batches, costs

    video, audio, _hook_ids = items
    duration = library.get_item("video", video).duration_s
    per_variant = -(-int(duration * 5 * 1000) // 1000)  # sync_lipsync: 5 cents/s, rounded up
    plan = tab._plan_text([], [video], [], [audio], [], [], 2, "round_robin", "replace", "sync_lipsync")
    assert plan.startswith("**2 variant(s)**")
    assert (f"**Lip sync:** 2 variant(s) with replaced audio, estimated **{costs.format_cents(2 * per_variant)}**"
            in plan)
    assert "Lip sync" not in tab._plan_text([], [video], [], [audio], [], [], 2, "round_robin", "replace", "")
    kept = tab._plan_text([], [video], [], [audio], [], [], 2, "round_robin", "keep", "sync_lipsync")
    assert "**Lip sync:** 0 variant(s)" in kept  # the source audio is kept: nothing to lip-sync
    costs.set_daily_limit(per_variant)  # room for one, the batch needs two
    before = len(batches.list_batches())
    _batch, message, _ = tab._start([], [video], [], [audio], [], [], 2, *OPTS, lipsync="sync_lipsync")
    assert "limit" in message.lower() and "started" not in message, message
    assert fal_fake.submissions == {} and len(batches.list_batches()) == before  # nothing made or sent
    costs.set_daily_limit(None)
    _batch_id, message, _ = tab._start([], [video], [], [audio], [], [], 2, *OPTS, lipsync="sync_lipsync")
    assert "started: 2 variants" in message, message
    assert len(fal_fake.submissions) == 2  # each variant with replaced audio was lip-synced
