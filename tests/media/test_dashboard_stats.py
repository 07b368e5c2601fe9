"""Dashboard numbers against catalog rows and files created here."""

from __future__ import annotations

import json

from media import stats, store
from media.db import session_scope
from media.job_store import (
    complete_job,
    create_job,
    fail_job,
    record_cost,
    report_progress,
    start_job,
)
from media.models import AudioFile, CharacterDiagram, Hook, Image, LoraModel, VariantBatch, Video


def _stored(folder: str, name: str, size: int) -> str:
    path = store.new_file_path(folder, name)
    path.write_bytes(b"\0" * size)
    return store.rel_path(path)


def test_counts_storage_jobs_and_spend(fresh_data_dir):
    with session_scope() as s:
        s.add(Video(name="a", file=_stored("videos", "a.mp4", 1000), thumbnail=_stored("thumbnails", "a.jpg", 10),
                    size_bytes=1000))  # sizes as import and the renderer record them
        batch = VariantBatch(total=2)
        s.add(batch)
        s.add(Video(name="b", type="variant", batch_id=batch.id, file=_stored("variants", "b.mp4", 2000),
                    size_bytes=2000))
        s.add(Video(name="kept", type="variant", batch_id=batch.id, kept=True,
                    file=_stored("videos", "kept.mp4", 400), size_bytes=400))
        s.add(Video(name="gone", file="videos/missing.mp4"))  # row without file: 0 bytes
        s.add(AudioFile(name="song", file=_stored("audio", "song.m4a", 300), size_bytes=300))
        s.add(Hook(text="wait for it"))
        s.add(Hook(text="POV: you"))
        s.add(Hook(text="3 tips"))
        s.add(Image(name="face", file=_stored("images", "face.png", 50), size_bytes=50))
        diagram = CharacterDiagram(name="ana", file=_stored("images", "ana.png", 70),
                                   thumbnail=_stored("thumbnails", "d.jpg", 5))
        # a diagram's file is also a library image's: it counts once, under characters
        s.add(Image(name="ana", file=diagram.file, character_diagram_id=diagram.id, size_bytes=70))
        s.add(diagram)
        s.add(LoraModel(name="ana", weights_file=_stored("models", "ana.safetensors", 4000),
                        high_noise_file=_stored("models", "ana_high.safetensors", 4000)))
    _stored("zips", "batch.zip", 700)  # a file no row points at

    done = create_job("variant")
    start_job(done.id)
    complete_job(done.id)
    bad = create_job("face_swap")
    start_job(bad.id)
    fail_job(bad.id, "no face found in face.png")
    running = create_job("lora_train")
    start_job(running.id)
    report_progress(running.id, 42, "training step 42/100")
    record_cost(running.id, "lora_train", 450, "100 steps")

    result = stats.collect_stats()
    json.dumps(result)  # JSON-ready for the API
    # "videos" is what Library > Videos lists (a kept variant included); batch variants apart
    assert result["counts"] == {"videos": 3, "variants": 1, "audios": 1, "hooks": 3, "images": 2,
                                "models": 1, "characters": 1}
    assert result["videos_by_type"] == {"source": 2, "variant": 1}  # the library's: sums to "videos"
    sizes = result["storage_bytes"]
    assert sizes["videos"] == 1000 + 400  # catalog sizes of the files (thumbnails are "other")
    assert sizes["variants"] == 2000
    assert sizes["audios"] == 300
    assert sizes["images"] == 50
    assert sizes["models"] == 8000
    assert sizes["characters"] == 75
    assert sizes["other"] == 700 + 10  # the ZIP and the video's thumbnail
    assert sizes["total"] == 1400 + 2000 + 300 + 50 + 8000 + 75 + 710
    assert [(j["id"], j["progress"], j["message"]) for j in result["active_jobs"]] == [
        (running.id, 42, "training step 42/100")]
    recent = {j["id"]: j for j in result["recent_jobs"]}
    assert recent[bad.id]["status"] == "failed"
    assert recent[bad.id]["error"] == "no face found in face.png"
    assert recent[done.id]["status"] == "completed"
    assert result["spend"]["today_cents"] == 450 and result["spend"]["month_cents"] == 450
    assert result["spend"]["left_today_cents"] is None


def test_empty_studio_has_zero_everything(fresh_data_dir):
    result = stats.collect_stats()
    assert set(result["counts"]) == set(stats.COUNTED_KINDS)
    assert not any(result["counts"].values())
    assert result["storage_bytes"]["total"] == 0
    assert result["active_jobs"] == [] and result["recent_jobs"] == []


def test_human_bytes():
    assert stats.human_bytes(0) == "0 B"
    assert stats.human_bytes(1536) == "1.5 KiB"
    assert stats.human_bytes(5 * 1024 ** 3) == "5.0 GiB"
