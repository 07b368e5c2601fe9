"""Face-swap jobs end to end: validation before queueing, results in the library, cancel, warnings."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlmodel import select

from jobs import swap_providers
from jobs.queue import huey
from jobs.runner import UserFacingError
from jobs.swap_providers.base import SwapResult
from media import job_store, store
from media.db import session_scope
from media.models import CharacterDiagram, CostRecord, Image, Job, Video


@pytest.fixture
def immediate():
    previous = huey.immediate
    huey.immediate = True
    yield huey
    huey.immediate = previous


def _add_video(path: Path, name: str | None = None) -> str:
    dest = store.new_file_path("videos", path.name)
    shutil.copyfile(path, dest)
    with session_scope() as session:
        row = Video(name=name or path.name, type="source", file=store.rel_path(dest))
        session.add(row)
    return row.id


def _add_image(path: Path, diagram: bool = False) -> str:
    dest = store.new_file_path("images", path.name)
    shutil.copyfile(path, dest)
    with session_scope() as session:
        diagram_id = None
        if diagram:
            d = CharacterDiagram(name="hero sheet", status="ready")
            session.add(d)
            diagram_id = d.id
        row = Image(name=path.name, file=store.rel_path(dest), character_diagram_id=diagram_id)
        session.add(row)
    return row.id


def _job_count() -> int:
    with session_scope() as session:
        return len(session.exec(select(Job)).all())


def test_swap_job_adds_a_face_swapped_video(fresh_data_dir, immediate, swap_clip, samples):
    from jobs.swap_tasks import create_swap_job

    video_id = _add_video(swap_clip)
    image_id = _add_image(samples / "photos" / "obama.jpg")
    job_ids = create_swap_job([video_id], image_id)["job_ids"]
    assert len(job_ids) == 1
    job = job_store.get_job(job_ids[0])
    assert job.status == "completed", job.error_message
    assert job.type == "face_swap" and job.progress == 100
    [result_id] = job.output_payload["result_ids"]
    assert job.output_payload["warnings"] == []
    with session_scope() as session:
        row = session.get(Video, result_id)
    assert row.type == "face_swapped" and row.parent_video_id == video_id
    assert row.face_image_id == image_id and row.character_diagram_id is None
    assert store.abs_path(row.file).is_file() and store.abs_path(row.thumbnail).is_file()
    assert row.width == 480 and row.height == 480 and row.has_audio
    assert row.duration_s == pytest.approx(1.6, abs=0.1)
    assert PILImage.open(store.abs_path(row.thumbnail)).width == 320
    assert list(store.tmp_dir().iterdir()) == []


def test_character_diagram_face_is_recorded(fresh_data_dir, immediate, swap_clip, samples):
    from jobs.swap_tasks import create_swap_job

    video_id = _add_video(swap_clip)
    image_id = _add_image(samples / "photos" / "biden_portrait.jpg", diagram=True)
    job = job_store.get_job(create_swap_job([video_id], image_id)["job_ids"][0])
    with session_scope() as session:
        row = session.get(Video, job.output_payload["result_ids"][0])
        image = session.get(Image, image_id)
    assert row.character_diagram_id == image.character_diagram_id is not None


def test_one_job_per_video(fresh_data_dir, immediate, faceless_clip, samples):
    from jobs.swap_tasks import create_swap_job

    ids = [_add_video(faceless_clip, "a.mp4"), _add_video(faceless_clip, "b.mp4")]
    image_id = _add_image(samples / "photos" / "astronaut.png")
    job_ids = create_swap_job(ids, image_id)["job_ids"]
    assert [job_store.get_job(j).reference_id for j in job_ids] == ids


def test_no_face_in_video_completes_with_warning(fresh_data_dir, immediate, faceless_clip, samples):
    from jobs.swap_tasks import create_swap_job

    video_id = _add_video(faceless_clip)
    image_id = _add_image(samples / "photos" / "astronaut.png")
    job = job_store.get_job(create_swap_job([video_id], image_id)["job_ids"][0])
    assert job.status == "completed"
    assert job.output_payload["result_ids"] == []
    assert "no face found in any frame" in job.output_payload["warnings"][0]
    assert "no face found in any frame" in job.message
    with session_scope() as session:
        assert session.exec(select(Video).where(Video.type == "face_swapped")).all() == []


def test_face_image_without_face_is_refused_before_queueing(fresh_data_dir, immediate, faceless_clip, tmp_path):
    from jobs.swap_tasks import create_swap_job

    wall = tmp_path / "wall.png"
    PILImage.fromarray(np.full((200, 200, 3), 200, np.uint8)).save(wall)
    video_id, image_id = _add_video(faceless_clip), _add_image(wall)
    with pytest.raises(UserFacingError, match="no face found in the face image"):
        create_swap_job([video_id], image_id)
    assert _job_count() == 0


@pytest.mark.parametrize("case, message", [
    ("no_videos", "pick at least one source video"),
    ("bad_video", "no library video with id nope"),
    ("bad_image", "no library image with id nope"),
    ("bad_provider", "unknown face-swap provider 'picsi'"),
    ("fal_without_key", "needs an API key: set FAL_KEY"),
    ("bad_selection", "face_selection must be one of"),
    ("reference_without_point", "needs reference_point"),
    ("unknown_option", "unknown swap option"),
    ("mapping_not_pairs", "face_mapping must be a list of"),
    ("mapping_target_twice", "names a target face twice"),
    ("mapping_source_missing", "holds 1 face"),
])
def test_bad_requests_are_refused(fresh_data_dir, immediate, faceless_clip, samples, case, message):
    from jobs.swap_tasks import create_swap_job

    video_id = _add_video(faceless_clip)
    image_id = _add_image(samples / "photos" / "astronaut.png")
    args = {"video_ids": [video_id], "face_image_id": image_id, "provider": "local", "options": {}}
    args.update({
        "no_videos": {"video_ids": []}, "bad_video": {"video_ids": [video_id, "nope"]},
        "bad_image": {"face_image_id": "nope"}, "bad_provider": {"provider": "picsi"},
        "fal_without_key": {"provider": "fal"}, "bad_selection": {"options": {"face_selection": "best"}},
        "reference_without_point": {"options": {"face_selection": "reference"}},
        "unknown_option": {"options": {"colour": 1}},
        "mapping_not_pairs": {"options": {"face_mapping": [1, 2]}},
        "mapping_target_twice": {"options": {"face_mapping": [[0, 0], [0, 0]]}},
        "mapping_source_missing": {"options": {"face_mapping": [[0, 0], [1, 1]]}},
    }[case])
    with pytest.raises(UserFacingError, match=message):
        create_swap_job(**args)
    assert _job_count() == 0


def test_missing_provider_module_is_named(fresh_data_dir, monkeypatch):
    import sys
    import types

    from jobs import providers

    entry = types.ModuleType("tests.jobs.ghost_provider")  # a registry module whose engine is absent
    entry.PROVIDER = providers.Provider(id="ghost", label="Ghost", tool="swap", key_variables=(),
                                        settings_fields=(), impl="jobs.swap_providers.ghost:GhostProvider")
    monkeypatch.setitem(sys.modules, "tests.jobs.ghost_provider", entry)
    monkeypatch.setattr(providers, "PROVIDER_MODULES", (*providers.PROVIDER_MODULES, "tests.jobs.ghost_provider"))
    assert "ghost" in swap_providers.provider_names()
    with pytest.raises(swap_providers.ProviderUnavailable, match="module jobs.swap_providers.ghost is missing"):
        swap_providers.load_provider("ghost")


def test_cancel_stops_within_a_second_and_leaves_no_file(fresh_data_dir, samples, tmp_path):
    """A real (non-immediate) run in a thread, canceled through the job row while it encodes."""
    from jobs.swap_tasks import JOB_TYPE, swap_video_task

    clip = samples / "videos" / "liveportrait_s18.mp4"  # 9.4 s at 720p: still running when canceled
    video_id = _add_video(clip)
    image_id = _add_image(samples / "photos" / "obama.jpg")
    job = job_store.create_job(JOB_TYPE, {"video_id": video_id, "face_image_id": image_id,
                                          "provider": "local", "options": {}}, reference_id=video_id)
    worker = threading.Thread(target=swap_video_task.call_local, args=(job.id,))
    worker.start()
    deadline = time.monotonic() + 60
    while job_store.get_job(job.id).progress < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_store.get_job(job.id).status == "processing"
    job_store.cancel_job(job.id)
    canceled_at = time.monotonic()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert time.monotonic() - canceled_at < 1.5
    assert job_store.get_job(job.id).status == "canceled"
    assert list((store.media_root() / "videos").glob("*swapped*")) == []
    assert not any(store.tmp_dir().iterdir())
    with session_scope() as session:
        assert session.exec(select(Video).where(Video.type == "face_swapped")).all() == []


def test_cloud_cost_is_recorded_from_the_price_table(fresh_data_dir, monkeypatch):
    from jobs.swap_tasks import JOB_TYPE, _record_cost
    from media.settings import reset_settings

    monkeypatch.setenv("NOVAI_SWAP_PRICE_CENTS_PER_SECOND", '{"fal": 7.5}')
    reset_settings()
    job = job_store.create_job(JOB_TYPE, {})
    _record_cost(job.id, "fal", SwapResult(out_path=Path("x.mp4"), billed_seconds=4.2), "clip.mp4")
    _record_cost(job.id, "local", SwapResult(out_path=Path("x.mp4"), billed_seconds=4.2), "clip.mp4")
    with session_scope() as session:
        costs = session.exec(select(CostRecord)).all()
    assert [c.amount_cents for c in costs] == [32]  # ceil(7.5 * 4.2) = 32; local costs nothing
    assert job_store.get_job(job.id).cost_cents == 32


def test_interrupted_local_swap_is_requeued_cloud_swap_fails(fresh_data_dir, immediate, faceless_clip, samples):
    from jobs.recovery import INTERRUPTED_MESSAGE, recover_interrupted_jobs
    from jobs.swap_tasks import JOB_TYPE

    video_id = _add_video(faceless_clip)
    image_id = _add_image(samples / "photos" / "astronaut.png")
    jobs = {}
    for provider in ("local", "fal"):
        job = job_store.create_job(JOB_TYPE, {"video_id": video_id, "face_image_id": image_id,
                                              "provider": provider, "options": {}}, reference_id=video_id)
        job_store.update_job(job.id, status="processing")
        jobs[provider] = job.id
    assert recover_interrupted_jobs() == 2
    local, cloud = job_store.get_job(jobs["local"]), job_store.get_job(jobs["fal"])
    assert local.status == "completed" and local.attempts == 1  # ran again from the start
    assert cloud.status == "failed" and cloud.error_message == INTERRUPTED_MESSAGE


def test_selection_names_aliases_and_mapping_text():
    from jobs.swap_tasks import mapping_from_text, parse_options

    assert parse_options({"face_selection": "largest"}).face_selection == "one"
    assert parse_options({"face_selection": "all"}).face_selection == "many"
    mapped = parse_options({"face_mapping": mapping_from_text("1>2, 2>1")})
    assert mapped.face_selection == "reference" and mapped.face_mapping == ((0, 1), (1, 0))
    with pytest.raises(UserFacingError, match="cannot read '2-1'"):
        mapping_from_text("1>2, 2-1")
    with pytest.raises(UserFacingError, match="whole numbers"):
        parse_options({"face_mapping": [[0.5, 1]]})
