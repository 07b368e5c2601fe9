"""Jobs' Cancel on a running variant stops the work, its FFmpeg process too, and marks it canceled
(issue 10: the render went on and finished ``completed``; a canceled variant made its batch
``completed_with_errors``)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from jobs import runner
from jobs import variants as variant_jobs
from jobs.queue import huey
from jobs.variant_tasks import render_variant_task
from media import batches, ffmpeg_run, job_store, library
from media.hooks import add_hooks


def _ffmpeg_children() -> list[int]:
    """Pids of this process's FFmpeg children (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == os.getpid() and "ffmpeg" in name:
            found.append(int(entry))
    return found


@pytest.mark.slow
def test_cancel_while_rendering_kills_ffmpeg_and_keeps_nothing(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "short_hamilton_clip.mp4", "video").id
    hook = add_hooks("Cancel me while I render")[0].id
    huey.immediate = False
    created = variant_jobs.create_variant_batch([video], [], [hook], 1, {"hook_duration_s": 0})  # full render
    huey.flush()
    job_id = created["job_ids"][0]
    worker = threading.Thread(target=render_variant_task.call_local, args=(job_id,))
    worker.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.is_alive():
        if _ffmpeg_children() and job_store.get_job(job_id).message.startswith("rendering"):
            break
        time.sleep(0.02)
    assert worker.is_alive(), "the render ended before it could be canceled"
    job_store.cancel_job(job_id)  # what the Jobs tab's Cancel calls
    canceled_at = time.monotonic()
    worker.join(60)
    assert time.monotonic() - canceled_at < 5
    assert _ffmpeg_children() == []
    assert job_store.get_job(job_id).status == "canceled"
    [variant] = batches.batch_variants(created["batch_id"])
    assert (variant.status, variant.output_video_id) == ("canceled", None)
    assert not any((fresh_data_dir / "media" / "variants" / created["batch_id"]).glob("*.mp4"))
    status = batches.batch_status(created["batch_id"])
    assert (status["status"], status["canceled"]) == ("canceled", 1)


def test_an_ffmpeg_step_without_progress_stops_when_the_check_raises():
    """The join and audio steps report no progress; the stop check still reaches them."""
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()

    def check() -> None:
        if stop.is_set():
            raise job_store.JobCanceled("job")

    started = time.monotonic()
    with pytest.raises(job_store.JobCanceled), ffmpeg_run.stop_check(check):
        ffmpeg_run.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=120", "-c:v", "libx264",
                               "-preset", "ultrafast", "-f", "null", "-"], "a long step")
    assert time.monotonic() - started < 5
    assert _ffmpeg_children() == []


def test_a_cancel_after_the_last_check_is_not_overwritten_by_the_completion(fresh_data_dir):
    job = job_store.create_job("variant")
    canceled_rows: list[str] = []

    def work() -> dict:
        job_store.cancel_job(job.id)  # Cancel pressed while the work wrote its last bytes
        return {"result_ids": ["late"]}

    assert runner.run_job(job.id, work, on_cancel=lambda: canceled_rows.append(job.id)) == "canceled"
    row = job_store.get_job(job.id)
    assert (row.status, row.output_payload) == ("canceled", {})
    assert canceled_rows == [job.id]


@pytest.mark.parametrize(("counts", "expected"), [
    ({"completed": 3, "canceled": 1}, "completed"),
    ({"canceled": 2}, "canceled"),
    ({"completed": 1, "failed": 1, "canceled": 1}, "completed_with_errors"),
    ({"failed": 1, "canceled": 1}, "failed"),
])
def test_canceled_variants_are_not_errors_of_their_batch(counts, expected):
    assert batches.derive_status(Counter(counts), sum(counts.values())) == expected


def test_ffmpeg_on_a_full_disk_says_so(tmp_path):
    from tests.faults import fill_disk, small_disk

    with small_disk(tmp_path / "disk", 5) as disk:
        fill_disk(disk)
        with pytest.raises(ffmpeg_run.FFmpegError) as caught:
            ffmpeg_run.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "libx264",
                                   "-preset", "ultrafast", str(disk / "out.mp4")], "rendering the variant")
    assert str(caught.value) == ("ffmpeg failed while rendering the variant: no space left on the disk of the "
                                 "data folder (free some space, then retry)")
