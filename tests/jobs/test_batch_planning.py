"""Planning a batch is one transaction and one bulk enqueue (issue 15): a 500-variant cartesian plan
stays well under a second here (the bounds below are loose for CI) and its commits do not grow with the
variants; sources take turns in the queue, so the first result comes after one normalisation and one
variant."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import imageio_ffmpeg
from sqlalchemy import event

from jobs import variants as variant_jobs
from jobs.queue import huey
from jobs.variant_tasks import cache_root
from media import batches, job_store, library
from media.db import get_engine, session_scope
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
    t0, cpu0 = time.perf_counter(), time.process_time()
    created = variant_jobs.create_variant_batch(videos, audios, hooks, 1, {"assignment": "cartesian"})
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    try:
        assert created["total"] == 500 and len(created["job_ids"]) == 500
        # CPU ~0.4 s, wall ~0.5 s on an idle 2-core machine; loose bounds for a loaded CI (wall follows load)
        assert cpu < 1.5, f"500-variant plan used {cpu:.2f} CPU seconds"
        assert elapsed < 15.0, f"500-variant plan took {elapsed:.2f} s"
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


def _catalog_commits(plan) -> int:
    """How many catalog transactions ``plan()`` commits (SQLAlchemy ``commit`` events on the engine)."""
    commits: list[int] = []
    engine = get_engine()

    def count(_connection) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        plan()
    finally:
        event.remove(engine, "commit", count)
    return len(commits)


def test_planning_commits_do_not_grow_with_the_variants(fresh_data_dir):
    videos, audios, hooks = _catalog(5, 10, 10)
    huey.immediate = False
    try:
        small = _catalog_commits(lambda: variant_jobs.create_variant_batch(
            videos[:1], audios[:2], hooks[:2], 1, {"assignment": "cartesian"}))  # 4 variants
        large = _catalog_commits(lambda: variant_jobs.create_variant_batch(
            videos, audios, hooks, 1, {"assignment": "cartesian"}))  # 500 variants
        assert large == small, f"4 variants: {small} commits, 500 variants: {large}"
        assert large <= 5  # rows in one transaction, task ids in another, reads
    finally:
        huey.flush()


def _pattern_clip(path: Path, size: str) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=1",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                   check=True, timeout=120)
    return path


def _normalised(video_id: str) -> bool:
    folder = cache_root(video_id) / "normalized"
    return folder.is_dir() and any(folder.iterdir())


def test_first_result_after_one_normalisation_and_one_variant(fresh_data_dir, samples, tmp_path):
    videos = [library.import_file(_pattern_clip(tmp_path / f"source{i}.mp4", size), "video").id
              for i, size in enumerate(("320x240", "240x320"))]
    audio = library.import_file(samples / "audio" / "vctk_p240_00000.mp3", "audio").id
    huey.immediate = False
    huey.flush()
    try:
        variant_jobs.request_normalize(videos[1])  # an ahead-of-time normalisation queued before the batch
        created = variant_jobs.create_variant_batch(videos, [audio], [], 2, {})
        events = []  # one worker, queue order: (task, variants done, sources normalised) after each task
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
            done = [r for r in batches.batch_results(created["batch_id"]) if r["status"] == "completed"]
            events.append((task.name, len(done), sum(_normalised(v) for v in videos)))
        renders = [e for e in events if e[0] == "render_variant_task"]
        if getattr(huey.storage, "priority", False):
            assert events[0][0] == "render_variant_task"  # renders go before ahead-of-time normalisations
        # the first result after one normalisation; the second source's first variant next
        assert [e[1:] for e in renders] == [(1, 1), (2, 2), (3, 2), (4, 2)], events
        assert batches.batch_status(created["batch_id"])["status"] == "completed"
    finally:
        huey.flush()
