"""The paid tools refuse a submission past the daily limit, with the numbers, before anything exists.

A fake key (nothing is sent: the refusal comes first) and a low limit set the way Settings sets it.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from jobs.runner import UserFacingError
from media import costs, library
from media.db import session_scope
from media.job_store import record_cost
from media.models import CharacterDiagram, Job, LoraModel
from media.settings import reset_settings


@pytest.fixture
def low_limit(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("FAL_KEY", "fal-fake-key-0000000000")
    monkeypatch.setenv("GOOGLE_API_KEY", "gemini-fake-key-000000")
    reset_settings()
    costs.set_daily_limit(60)
    record_cost(None, "character", 20, "earlier today")
    return fresh_data_dir


def _count(model) -> int:
    with session_scope() as session:
        return len(session.exec(select(model)).all())


def _import(path, kind: str) -> str:
    outcome = library.import_file(path, kind)
    assert outcome.error is None, outcome.error
    return outcome.id


def test_lora_training_over_the_limit_is_refused(low_limit, samples):
    from jobs.lora_api import build_lora_dataset_from_files, train_lora

    dataset = build_lora_dataset_from_files([samples / "photos" / "obama.jpg", samples / "photos" / "astronaut.png"],
                                            "zxq person", {"resolution": 512})
    jobs_before = _count(Job)
    with pytest.raises(UserFacingError) as caught:
        train_lora(dataset["dataset_id"], "zxq", {"steps": 1000})
    message = str(caught.value)
    assert "estimated at $4.50 (450¢)" in message  # 1000 steps x $0.0045
    assert "today's spend is $0.20 (20¢)" in message and "daily limit is $0.60 (60¢)" in message
    assert _count(Job) == jobs_before and _count(LoraModel) == 0


def test_cloud_face_swap_over_the_limit_is_refused(low_limit, samples):
    from jobs.swap_tasks import create_swap_job

    video_id = _import(samples / "videos" / "retalking_face_2.mp4", "video")  # 5.0 s
    image_id = _import(samples / "photos" / "obama.jpg", "image")
    with pytest.raises(UserFacingError, match=r"estimated at \$0\.50 \(50¢\), today's spend is \$0\.20"):
        create_swap_job([video_id], image_id, provider="fal")  # 10 cents/s x 5 s
    assert _count(Job) == 0


def test_gemini_character_over_the_limit_is_refused(low_limit, samples):
    from jobs.character_tasks import create_character

    costs.set_daily_limit(25)
    image_id = _import(samples / "photos" / "obama.jpg", "image")
    with pytest.raises(costs.SpendLimitExceeded, match=r"estimated at \$0\.07 \(7¢\).*limit is \$0\.25"):
        create_character(image_id, "Barack", provider="gemini")
    assert _count(Job) == 0 and _count(CharacterDiagram) == 0


def test_free_providers_are_never_checked(low_limit, samples):
    from jobs.character_tasks import create_character
    from jobs.queue import huey

    costs.set_daily_limit(0)
    image_id = _import(samples / "photos" / "obama.jpg", "image")
    previous, huey.immediate = huey.immediate, True
    try:
        started = create_character(image_id, "Barack", provider="local")
    finally:
        huey.immediate = previous
    assert started["job_id"]
