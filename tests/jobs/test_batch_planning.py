"""Planning a batch is one transaction and one bulk enqueue (issue 15): a 500-variant cartesian plan
stays well under a second here (the bound below is loose for CI); sources take turns in the queue."""

from __future__ import annotations

import time

from jobs import variants as variant_jobs
from jobs.queue import huey
from media import batches, job_store
from media.db import session_scope
from media.models import AudioFile, Hook, Video


def _catalog(videos: int, audios: int, hooks: int) -> tuple[list[str], list[str], list[str]]:
    """Catalog rows only (planning reads names and texts, never the files)."""
    with session_scope() as session:
        v = [Video(name=f"v{i}.mp4", file=f"videos/v{i}.mp4") for i in range(videos)]
        a = [AudioFile(name=f"a{i}.mp3", file=f"audio/a{i}.mp3") for i in range(audios)]
        h = [Hook(text=f"hook number {i}", category="test") for i in range(hooks)]
        session.add_all([*v, *a, *h])
    return [x.id for x in v], [x.id for x in a], [x.id for x in h]


def test_500_variant_cartesian_plan_is_fast_and_queued(fresh_data_dir):
    videos, audios, hooks = _catalog(5, 10, 10)
    huey.immediate = False
    huey.flush()
    t0 = time.perf_counter()
    created = variant_jobs.create_variant_batch(videos, audios, hooks, 1, {"assignment": "cartesian"})
    elapsed = time.perf_counter() - t0
    try:
        assert created["total"] == 500 and len(created["job_ids"]) == 500
        assert elapsed < 4.0, f"500-variant plan took {elapsed:.2f} s"  # ~0.5 s on an idle 2-core machine
        assert huey.pending_count() == 500
        status = batches.batch_status(created["batch_id"])
        assert (status["status"], status["total"], status["done"]) == ("queued", 500, 0)
        rows = batches.batch_variants(created["batch_id"])
        assert [v.index for v in rows] == list(range(500))
        assert {v.status for v in rows} == {"queued"}
        assert [v.job_id for v in rows] == created["job_ids"]
        job = job_store.get_job(created["job_ids"][7])
        assert job.status == "queued" and job.task_id and job.input_payload["variant_id"] == rows[7].id
        # sources take turns: the first five tasks queued are the first variant of each source
        queued = [huey.deserialize_task(data).args[0] for data in huey.storage.enqueued_items(5)]
        firsts = {job_store.get_job(j).input_payload["video_id"] for j in queued}
        assert firsts == set(videos)
        assert job.input_payload["one_pass"] is False  # 100 variants per source: normalise once
    finally:
        huey.flush()


def test_a_sources_only_variant_is_marked_one_pass(fresh_data_dir):
    videos, audios, hooks = _catalog(3, 2, 2)
    huey.immediate = False
    try:
        created = variant_jobs.create_variant_batch(videos[:1] * 1 + videos[1:], audios, hooks, 1, {})
        payloads = [job_store.get_job(j).input_payload for j in created["job_ids"]]
        assert [p["one_pass"] for p in payloads] == [True, True, True]
        created = variant_jobs.create_variant_batch(videos[:1], audios, hooks, 2, {})
        assert {job_store.get_job(j).input_payload["one_pass"] for j in created["job_ids"]} == {False}
    finally:
        huey.flush()


def test_first_results_order_interleaves_sources():
    rows = [("a0", "A", "j0"), ("a1", "A", "j1"), ("b0", "B", "j2"), ("a2", "A", "j3"), ("b1", "B", "j4")]
    assert [r[0] for r in variant_jobs.first_results_order(rows)] == ["a0", "b0", "a1", "b1", "a2"]


def test_unknown_id_plans_nothing(fresh_data_dir):
    videos, audios, _ = _catalog(2, 1, 0)
    huey.immediate = False
    try:
        variant_jobs.create_variant_batch([*videos, "missing"], audios, [], 1, {})
    except variant_jobs.UserFacingError as exc:
        assert "unknown video" in str(exc)
    else:
        raise AssertionError("an unknown video id was accepted")
    assert batches.list_batches() == [] and job_store.list_jobs() == []
    assert huey.pending_count() == 0
