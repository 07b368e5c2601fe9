"""One provider registry (issue 14): a provider is one module plus one registry line; every tool reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobs import animate_tasks, character_providers, providers, swap_providers
from jobs.queue import huey
from media import job_store, library

ROOT = Path(__file__).resolve().parents[2]


def test_a_dummy_provider_is_one_module_and_one_line(monkeypatch, fresh_data_dir, fal_fake, samples):
    monkeypatch.setattr(providers, "PROVIDER_MODULES", (*providers.PROVIDER_MODULES, "tests.jobs.dummy_provider"))
    assert "dummy" in [p.id for p in providers.providers("animate")]
    assert animate_tasks.estimate_animation("dummy", {"duration_s": 6})["estimate_cents"] == 9
    image = library.import_file(samples / "photos" / "obama.jpg", "image").id
    url = fal_fake.add_file("out.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    fal_fake.script("dummy-org/dummy-i2v", result={"video": {"url": url}})
    huey.immediate = True
    try:
        created = animate_tasks.create_animation(image, "waves", "dummy", {"duration_s": 3})
    finally:
        huey.immediate = False
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    (sub,) = fal_fake.submissions.values()
    assert (sub.arguments["text"], sub.arguments["seconds"]) == ("waves", 3)
    assert job.cost_cents == 5  # 1.5 cents x 3 s, rounded up


def test_swap_and_character_providers_come_from_the_registry():
    assert swap_providers.PROVIDERS == {p.id: p.impl for p in providers.providers("swap")}
    assert swap_providers.PROVIDER_KEYS["fal"] == ("fal_key", "FAL_KEY")
    assert "local" not in swap_providers.PROVIDER_KEYS
    assert character_providers.PROVIDER_NAMES == ("local", "gemini")
    assert type(character_providers.get_provider("local")).__name__ == "LocalCharacterProvider"
    with pytest.raises(ValueError, match="unknown character provider 'x'"):
        character_providers.get_provider("x")


def test_every_provider_declares_what_the_settings_tab_needs():
    from media.settings import Settings

    for p in providers.all_providers():
        assert p.label and p.tool in providers.TOOLS
        assert all(f in Settings.model_fields for f in p.settings_fields), p.id
        if p.key_variables:
            assert p.key_setting in Settings.model_fields
        assert p.impl or p.endpoint, p.id


def test_the_fal_swap_path_does_not_load_the_local_face_engine():
    code = ("import sys; sys.modules['mediapipe'] = None\n"  # any import of MediaPipe now fails
            "import jobs.swap_tasks as t, jobs.swap_providers as sp\n"
            "p = sp.load_provider('fal'); print(type(p).__name__)\n"
            "assert 'media.face.landmarks' not in sys.modules, 'local face engine was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "FalSwapProvider"
