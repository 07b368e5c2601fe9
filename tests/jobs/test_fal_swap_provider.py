"""The ``fal`` face-swap provider end to end: real fal-client against the loopback fake of fal."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs import fal
from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest
from jobs.swap_providers.fal_swap import FalSwapProvider
from media.job_store import JobCanceled
from media.settings import reset_settings
from tests.fakes.fal_server import FakeFal

ENDPOINT = "half-moon-ai/ai-face-swap/faceswapvideo"


@pytest.fixture
def swap_inputs(samples: Path, tmp_path: Path) -> SwapRequest:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    return SwapRequest(video_path=samples / "videos" / "retalking_face_2.mp4",
                       face_image_path=samples / "photos" / "obama.jpg",
                       out_path=out_dir / "swapped.mp4")


class Recorder:
    def __init__(self, cancel_at: str | None = None) -> None:
        self.progress: list[tuple[float, str]] = []
        self.external: list[tuple[str, str]] = []
        self.cancel_at = cancel_at

    def on_progress(self, percent: float, message: str) -> None:
        self.progress.append((percent, message))

    def on_external(self, request_id: str, status: str) -> None:
        self.external.append((request_id, status))
        if status == self.cancel_at:
            raise JobCanceled("job-1")

    def context(self) -> SwapContext:
        return SwapContext(progress=self.on_progress, external=self.on_external)


def _script_success(fake: FakeFal, samples: Path, **extra) -> str:
    video = (samples / "videos" / "retalking_face_2.mp4").read_bytes()
    url = fake.add_file("result.mp4", video, "video/mp4")
    fake.script(ENDPOINT, queue_polls=1, progress_polls=2,
                result={"video": {"url": url, "content_type": "video/mp4"}, "processing_time_ms": 12}, **extra)
    return url


def test_swap_success(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    _script_success(fal_fake, samples)
    rec = Recorder()
    result = FalSwapProvider().swap(swap_inputs, rec.context())

    assert result.out_path == swap_inputs.out_path
    assert swap_inputs.out_path.read_bytes() == (samples / "videos" / "retalking_face_2.mp4").read_bytes()
    assert result.billed_seconds == pytest.approx(5.04, abs=0.1)
    assert result.frames_total > 100
    (sub,) = fal_fake.submissions.values()
    assert sub.endpoint == ENDPOINT
    assert set(sub.arguments) == {"source_face_url", "target_video_url"}
    assert fal_fake.file_at(sub.arguments["source_face_url"]).data == swap_inputs.face_image_path.read_bytes()
    assert fal_fake.file_at(sub.arguments["target_video_url"]).data == swap_inputs.video_path.read_bytes()
    assert sub.states == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED", "COMPLETED"]
    assert rec.external[0] == (sub.request_id, "IN_QUEUE")
    assert ("COMPLETED" in {s for _, s in rec.external})
    percents = [p for p, _ in rec.progress]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any("position 0" in m for _, m in rec.progress)


def test_swap_reports_unsupported_face_selection(fal_fake: FakeFal, samples: Path,
                                                 swap_inputs: SwapRequest) -> None:
    _script_success(fal_fake, samples)
    request = SwapRequest(swap_inputs.video_path, swap_inputs.face_image_path, swap_inputs.out_path,
                          SwapOptions(face_selection="many"))
    result = FalSwapProvider().swap(request, Recorder().context())
    assert any("'many' was not applied" in w for w in result.warnings)


def _assert_no_files(request: SwapRequest) -> None:
    assert list(request.out_path.parent.iterdir()) == []


def test_bad_key(monkeypatch, fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    monkeypatch.setenv("FAL_KEY", "not-the-key")
    reset_settings()
    with pytest.raises(fal.FalError, match="HTTP 401.*check FAL_KEY"):
        FalSwapProvider().swap(swap_inputs, Recorder().context())
    _assert_no_files(swap_inputs)


def test_429_is_retried(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    _script_success(fal_fake, samples)
    fal_fake.fail("submit", 429)
    fal_fake.fail("status", 429)
    FalSwapProvider().swap(swap_inputs, Recorder().context())
    assert swap_inputs.out_path.is_file()
    assert fal_fake.kinds().count("submit") == 2


def test_completed_with_error(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    _script_success(fal_fake, samples, error="No face detected in source image", error_type="face_not_found")
    with pytest.raises(fal.FalError, match="No face detected in source image"):
        FalSwapProvider().swap(swap_inputs, Recorder().context())
    _assert_no_files(swap_inputs)


def test_malformed_result(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=1, result={"videos": ["nope"]})
    with pytest.raises(fal.FalError, match=r"malformed result: no video.url"):
        FalSwapProvider().swap(swap_inputs, Recorder().context())
    _assert_no_files(swap_inputs)


def test_result_that_is_not_a_video(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    url = fal_fake.add_file("result.mp4", b"<html>not a video</html>")
    fal_fake.script(ENDPOINT, queue_polls=0, progress_polls=0, result={"video": {"url": url}})
    with pytest.raises(fal.FalError, match="not a playable video"):
        FalSwapProvider().swap(swap_inputs, Recorder().context())
    _assert_no_files(swap_inputs)


def test_timeout(monkeypatch, fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    monkeypatch.setenv("NOVAI_FAL_TIMEOUT_S", "0.3")
    reset_settings()
    fal_fake.script(ENDPOINT, hang=True)
    with pytest.raises(fal.FalTimeout, match="did not finish within 0.3 s"):
        FalSwapProvider().swap(swap_inputs, Recorder().context())
    (sub,) = fal_fake.submissions.values()
    assert sub.canceled
    _assert_no_files(swap_inputs)


def test_cancel_calls_fal_cancel(fal_fake: FakeFal, samples: Path, swap_inputs: SwapRequest) -> None:
    _script_success(fal_fake, samples)
    with pytest.raises(JobCanceled):
        FalSwapProvider().swap(swap_inputs, Recorder(cancel_at="IN_PROGRESS").context())
    (sub,) = fal_fake.submissions.values()
    assert sub.canceled and "cancel" in fal_fake.kinds()
    _assert_no_files(swap_inputs)


def test_a_paid_swap_job_holds_its_estimate_then_settles_to_the_billed_cost(fresh_data_dir, fal_fake: FakeFal,
                                                                           samples: Path) -> None:
    from sqlmodel import select

    from jobs.queue import huey
    from jobs.swap_tasks import create_swap_job
    from media import job_store, library
    from media.db import session_scope
    from media.models import SpendReservation

    _script_success(fal_fake, samples)
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id  # 5.0 s
    image = library.import_file(samples / "photos" / "obama.jpg", "image").id
    huey.immediate = True
    try:
        started = create_swap_job([video], image, provider="fal")
    finally:
        huey.immediate = False
    job = job_store.get_job(started["job_ids"][0])
    assert job.status == "completed", job.error_message
    with session_scope() as session:
        [held] = session.exec(select(SpendReservation)).all()
    assert (held.job_id, held.tool, held.estimate_cents) == (job.id, "face_swap", 50)  # 10 cents/s x 5.0 s
    assert (held.status, held.settled_cents) == ("settled", job.cost_cents) and job.cost_cents > 0
