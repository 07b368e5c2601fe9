"""LoRA training end to end: the real fal-client against the loopback fake of fal (queue + storage)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save
from sqlmodel import select

from jobs import lora_tasks
from jobs.lora_api import build_lora_dataset_from_files, estimate_lora_training, train_lora
from jobs.queue import huey
from jobs.recovery import recover_interrupted_jobs
from jobs.runner import retry_job
from media import costs, job_store
from media import lora_catalog as catalog
from media.db import session_scope
from media.models import CostRecord, SpendReservation
from media.settings import reset_settings
from media.store import abs_path, media_root
from tests.fakes.fal_server import FakeFal

TRAINER = "fal-ai/wan-22-image-trainer"
TEST_IMAGE = "fal-ai/wan/v2.2-a14b/text-to-image/lora"
ROOT = Path(__file__).resolve().parents[2]


def lora_bytes(rank: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    tensors = {}
    for block in range(2):
        stem = f"diffusion_model.blocks.{block}.cross_attn.k"
        tensors[f"{stem}.lora_A.weight"] = rng.standard_normal((rank, 32)).astype(np.float16)
        tensors[f"{stem}.lora_B.weight"] = rng.standard_normal((32, rank)).astype(np.float16)
    return save(tensors, metadata={"format": "pt"})


@pytest.fixture
def immediate():
    huey.immediate = True
    try:
        yield huey
    finally:
        huey.immediate = False


@pytest.fixture
def dataset(fresh_data_dir, samples: Path) -> dict:
    photos = [samples / "photos" / "obama.jpg", samples / "photos" / "astronaut.png"]
    return build_lora_dataset_from_files(photos, "zxq person", {"resolution": 512})


def script_trainer(fake: FakeFal, **fields) -> dict[str, str]:
    urls = {"diffusers_lora_file": fake.add_file("low.safetensors", lora_bytes(16, 1)),
            "high_noise_lora": fake.add_file("high.safetensors", lora_bytes(16, 2)),
            "config_file": fake.add_file("config.json", b'{"steps": 500}', "application/json")}
    fields.setdefault("queue_polls", 2)
    fields.setdefault("progress_polls", 3)
    result = {key: {"url": url, "file_name": url.rsplit("/", 1)[-1]} for key, url in urls.items()}
    fake.script(TRAINER, result=fields.pop("result", result), **fields)
    return urls


def _reservations(job_id: str) -> list[SpendReservation]:
    with session_scope() as session:
        return list(session.exec(select(SpendReservation).where(SpendReservation.job_id == job_id)))


def _cost_rows(job_id: str) -> list[CostRecord]:
    with session_scope() as session:
        return list(session.exec(select(CostRecord).where(CostRecord.job_id == job_id)))


def _model_files() -> list[Path]:
    root = media_root() / "models"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_estimate_shown_before_submitting() -> None:
    assert estimate_lora_training(1000) == {"steps": 1000, "billed_steps": 1000, "usd_per_step": 0.0045,
                                            "cents": 450, "usd": 4.5}
    assert estimate_lora_training(40)["cents"] == 45  # 100 steps minimum


def test_training_end_to_end(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    urls = script_trainer(fal_fake)
    started = train_lora(dataset["dataset_id"], "Obama test", {"steps": 500})
    assert started["estimate_cents"] == 225

    job = job_store.get_job(started["job_id"])
    assert job.status == "completed", job.error_message
    assert job.output_payload["result_ids"] == [started["lora_id"]]
    (sub,) = fal_fake.submissions.values()
    assert sub.endpoint == TRAINER
    zip_url = sub.arguments["training_data_url"]
    assert sub.arguments == {"training_data_url": zip_url, "trigger_phrase": "zxq person", "steps": 500,
                             "learning_rate": 0.0007, "is_style": False, "use_face_detection": True,
                             "use_face_cropping": False, "use_masks": True, "include_synthetic_captions": False}
    assert fal_fake.file_at(zip_url).data == abs_path(dataset["zip_file"]).read_bytes()
    assert sub.states[:6] == ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
    assert job.external_request_id == sub.request_id and job.external_status == "COMPLETED"

    lora = catalog.get_lora(started["lora_id"])
    assert lora.status == "ready" and lora.trigger_word == "zxq person" and lora.training_steps == 500
    assert abs_path(lora.weights_file).read_bytes() == fal_fake.file_at(urls["diffusers_lora_file"]).data
    assert abs_path(lora.high_noise_file).read_bytes() == fal_fake.file_at(urls["high_noise_lora"]).data
    assert abs_path(lora.config_file).read_text() == '{"steps": 500}'
    assert lora.rank == 16 and lora.tensor_count == 4
    assert Image.open(abs_path(lora.thumbnail)).size[0] <= 256  # from the dataset
    assert lora.cost_cents == 225
    (cost,) = _cost_rows(job.id)
    assert cost.amount_cents == 225 and cost.job_type == "lora_train" and "500 steps" in cost.description
    (held,) = _reservations(job.id)  # held at submission, settled to the recorded cost at the end
    assert (held.estimate_cents, held.status, held.settled_cents) == (225, "settled", 225)


def test_progress_follows_the_queue(fal_fake: FakeFal, dataset: dict, immediate, monkeypatch) -> None:
    script_trainer(fal_fake, queue_polls=1, progress_polls=4)
    seen: list[tuple[int, str]] = []
    real = job_store.report_progress

    def spy(job_id, progress, message=None):  # records what the job row receives, then writes it
        seen.append((int(progress), message or ""))
        real(job_id, progress, message)

    monkeypatch.setattr(job_store, "report_progress", spy)
    train_lora(dataset["dataset_id"], "P", {"steps": 100})
    messages = [m for _, m in seen]
    assert "uploading the dataset ZIP to fal" in messages
    assert "waiting in fal's queue (position 0)" in messages
    assert "step 2/4" in messages and "step 4/4" in messages
    percents = [p for p, _ in seen]
    assert percents == sorted(percents)


def test_cancel_calls_fal_cancel(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    script_trainer(fal_fake, hang=True)
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(train_lora(dataset["dataset_id"], "C", {})))
    worker.start()
    deadline = time.monotonic() + 30
    job = None
    while time.monotonic() < deadline:
        jobs = job_store.list_jobs(job_type="lora_train")
        if jobs and jobs[0].external_status == "IN_PROGRESS":
            job = jobs[0]
            break
        time.sleep(0.02)
    assert job is not None, "training never reached IN_PROGRESS"
    assert costs.limit_summary()["reserved_cents"] == 450  # the running training's estimate is held
    lora_tasks.cancel_training(job.id)
    worker.join(timeout=30)
    assert not worker.is_alive()

    (sub,) = fal_fake.submissions.values()
    assert sub.canceled
    assert job_store.get_job(job.id).status == "canceled"
    lora = catalog.get_lora(out["lora_id"])
    assert lora.status == "failed" and lora.error_message == "training canceled"
    assert lora.info["request_ids"] == [sub.request_id]
    assert _model_files() == [] and _cost_rows(job.id) == []
    assert [r.status for r in _reservations(job.id)] == ["released"]
    assert costs.limit_summary()["reserved_cents"] == 0


def test_restart_in_the_middle_reattaches(fal_fake: FakeFal, dataset: dict, immediate, fresh_data_dir) -> None:
    """A studio process is killed (SIGKILL) mid-training; recovery re-attaches to the same fal request."""
    urls = script_trainer(fal_fake, queue_polls=1, progress_polls=2, hang=True)
    script = fal_fake.scripts[TRAINER]
    env = {**os.environ, "NOVAI_DATA_DIR": str(fresh_data_dir), "NOVAI_QUEUE_IMMEDIATE": "1",
           "PYTHONPATH": str(ROOT)}
    code = ("from jobs.lora_api import train_lora; "
            f"train_lora({dataset['dataset_id']!r}, 'Restarted', {{'steps': 200}})")
    studio = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        job = None
        while time.monotonic() < deadline and studio.poll() is None:
            jobs = job_store.list_jobs(job_type="lora_train")
            if jobs and jobs[0].external_status == "IN_PROGRESS":
                job = jobs[0]
                break
            time.sleep(0.05)
        assert job is not None, f"the studio process never reached IN_PROGRESS: {studio.stderr.read()!r}"
    finally:
        studio.send_signal(signal.SIGKILL)
        studio.wait(timeout=30)
    assert job_store.get_job(job.id).status == "processing"  # left behind by the killed process

    script.hang = False  # fal finishes the training meanwhile
    assert recover_interrupted_jobs() == 1  # the studio starts again: the registered handler re-queues

    done = job_store.get_job(job.id)
    assert done.status == "completed", done.error_message
    assert done.attempts == 2
    assert fal_fake.kinds().count("submit") == 1  # re-attached, not submitted again
    assert len([f for f in fal_fake.uploaded() if f.name.endswith(".zip")]) == 1
    lora = catalog.get_lora(done.input_payload["lora_id"])
    assert lora.status == "ready"
    assert abs_path(lora.weights_file).read_bytes() == fal_fake.file_at(urls["diffusers_lora_file"]).data
    assert [c.amount_cents for c in _cost_rows(job.id)] == [90]  # 200 steps, recorded once


def _assert_failed(started: dict, pattern: str) -> None:
    job = job_store.get_job(started["job_id"])
    assert job.status == "failed"
    assert re.search(pattern, job.error_message), job.error_message
    lora = catalog.get_lora(started["lora_id"])
    assert lora.status == "failed" and lora.error_message == job.error_message
    assert _model_files() == [] and _cost_rows(job.id) == []


def test_bad_key_fails_with_a_clear_message(fal_fake: FakeFal, dataset: dict, immediate, monkeypatch) -> None:
    script_trainer(fal_fake)
    monkeypatch.setenv("FAL_KEY", "wrong")
    reset_settings()
    started = train_lora(dataset["dataset_id"], "K", {})
    _assert_failed(started, r"rejected the API key.*HTTP 401.*check FAL_KEY")


def test_missing_key_is_refused_before_any_job(fal_fake: FakeFal, dataset: dict, monkeypatch) -> None:
    monkeypatch.setenv("FAL_KEY", "")
    reset_settings()
    with pytest.raises(Exception, match="FAL_KEY is not set"):
        train_lora(dataset["dataset_id"], "K", {})
    assert job_store.list_jobs(job_type="lora_train") == []


def test_429_is_retried(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    script_trainer(fal_fake)
    fal_fake.fail("submit", 429, times=2)
    fal_fake.fail("token", 429)
    started = train_lora(dataset["dataset_id"], "R", {})
    assert job_store.get_job(started["job_id"]).status == "completed"
    assert fal_fake.kinds().count("submit") == 3


def test_completed_with_error_stores_the_provider_message(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    script_trainer(fal_fake, error="Training data must contain at least 4 images", error_type="invalid_input")
    started = train_lora(dataset["dataset_id"], "E", {})
    _assert_failed(started, r"failed on fal \(invalid_input\): Training data must contain at least 4 images")
    (sub,) = fal_fake.submissions.values()
    assert job_store.get_job(started["job_id"]).external_request_id is None  # a retry submits anew
    assert catalog.get_lora(started["lora_id"]).info["request_ids"] == [sub.request_id]


def test_download_failure_then_retry_reattaches(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    """A failed download keeps fal's request id: Retry fetches the result again without a new training."""
    script_trainer(fal_fake)
    fal_fake.fail("download", 500, detail="CDN error")
    started = train_lora(dataset["dataset_id"], "D", {"steps": 100})
    _assert_failed(started, r"server error while downloading .*HTTP 500: CDN error")
    (sub,) = fal_fake.submissions.values()
    assert job_store.get_job(started["job_id"]).external_request_id == sub.request_id

    retry_job(started["job_id"])
    job = job_store.get_job(started["job_id"])
    assert job.status == "completed", job.error_message
    assert fal_fake.kinds().count("submit") == 1
    assert catalog.get_lora(started["lora_id"]).status == "ready"
    assert [c.amount_cents for c in _cost_rows(job.id)] == [45]


def test_malformed_result(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    urls = script_trainer(fal_fake)
    fal_fake.scripts[TRAINER].result = {"diffusers_lora_file": {"url": urls["diffusers_lora_file"]}}
    started = train_lora(dataset["dataset_id"], "M", {})
    _assert_failed(started, r"malformed result: no high_noise_lora.url")


def test_weights_that_are_not_a_lora(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    urls = script_trainer(fal_fake)
    fal_fake.scripts[TRAINER].result = {"diffusers_lora_file": {"url": fal_fake.add_file("x.safetensors", b"junk")},
                                        "high_noise_lora": {"url": urls["high_noise_lora"]},
                                        "config_file": {"url": urls["config_file"]}}
    started = train_lora(dataset["dataset_id"], "W", {})
    _assert_failed(started, r"returned weights that are not a LoRA")


def test_optional_test_image_becomes_the_thumbnail(fal_fake: FakeFal, dataset: dict, immediate) -> None:
    urls = script_trainer(fal_fake)
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(png, "PNG")
    sample = fal_fake.add_file("sample.png", png.getvalue(), "image/png")
    fal_fake.script(TEST_IMAGE, queue_polls=0, progress_polls=1, result={"image": {"url": sample}, "seed": 7})
    started = train_lora(dataset["dataset_id"], "T", {"steps": 100, "test_image": True})

    job = job_store.get_job(started["job_id"])
    assert job.status == "completed" and job.output_payload["warnings"] == []
    t2i = next(s for s in fal_fake.submissions.values() if s.endpoint == TEST_IMAGE)
    assert t2i.arguments["loras"] == [{"path": urls["high_noise_lora"], "scale": 1.0, "transformer": "high"},
                                      {"path": urls["diffusers_lora_file"], "scale": 1.0, "transformer": "low"}]
    assert "zxq person" in t2i.arguments["prompt"]
    lora = catalog.get_lora(started["lora_id"])
    thumb = Image.open(abs_path(lora.thumbnail))
    assert thumb.size == (64, 48) and thumb.getpixel((5, 5))[0] > 150
    assert lora.info["test_image"] == lora.thumbnail


def test_test_image_job_for_a_ready_lora(fal_fake: FakeFal, dataset: dict, immediate, tmp_path: Path) -> None:
    script_trainer(fal_fake)
    started = train_lora(dataset["dataset_id"], "Later", {"steps": 100})
    before = catalog.get_lora(started["lora_id"]).thumbnail
    fal_fake.script(TEST_IMAGE, queue_polls=0, progress_polls=0, result={"image": {"url": "not-a-url"}})
    failed = lora_tasks.start_test_image(started["lora_id"])
    job = job_store.get_job(failed["job_id"])
    assert job.status == "failed" and "malformed result: no image.url" in job.error_message
    assert catalog.get_lora(started["lora_id"]).thumbnail == before

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 0, 255)).save(png, "PNG")
    fal_fake.script(TEST_IMAGE, queue_polls=0, progress_polls=0,
                    result={"images": [{"url": fal_fake.add_file("s.png", png.getvalue())}]})
    done = lora_tasks.start_test_image(started["lora_id"])
    assert job_store.get_job(done["job_id"]).status == "completed"
    thumb = catalog.get_lora(started["lora_id"]).thumbnail
    assert thumb != before and Image.open(abs_path(thumb)).getpixel((1, 1))[2] > 240  # JPEG of pure blue
    assert not abs_path(before).exists()  # the dataset-made thumbnail was replaced, not left behind
