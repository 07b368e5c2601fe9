"""Character jobs end to end (Huey in immediate mode): local sheets from the sample photos, the gemini
provider against the loopback fake, no-face and bad-input errors, regenerate, rename, delete, import."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fake_gemini import FakeGemini, FakeGeminiServer, image_answer, png_bytes, safety_answer
from PIL import Image as PILImage
from sqlmodel import select

from jobs import character_tasks
from jobs.queue import huey
from media import job_store
from media.characters import catalog
from media.characters.images import ImageFileError
from media.characters.sheet import CLOSEUP_BOX, SHEET_SIZE
from media.db import session_scope
from media.face.landmarks import detect_faces, load_rgb
from media.models import CharacterDiagram, CostRecord, Image, Job, SpendReservation
from media.settings import reset_settings
from media.store import abs_path, new_file_path, rel_path

PHOTOS = sorted(p.name for p in (Path(__file__).resolve().parents[3] / "shared" / "samples" / "photos")
                .glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


@pytest.fixture
def data(fresh_data_dir):
    """An empty data folder and Huey running tasks inline."""
    previous = huey.immediate
    huey.immediate = True
    yield fresh_data_dir
    huey.immediate = previous


def add_library_image(path: Path, name: str | None = None) -> str:
    """Copy a file into the media folder and insert its ``images`` row (test set-up)."""
    dest = new_file_path("images", path.name)
    shutil.copyfile(path, dest)
    with PILImage.open(dest) as im:
        width, height, fmt = im.width, im.height, (im.format or "").lower()
    with session_scope() as session:
        row = Image(name=name or path.stem, file=rel_path(dest), width=width, height=height, format=fmt,
                    size_bytes=dest.stat().st_size)
        session.add(row)
    return row.id


def rows(model) -> list:
    with session_scope() as session:
        return list(session.exec(select(model)))


@pytest.mark.parametrize("photo", PHOTOS)
def test_local_sheet_per_sample_photo_holds_the_face(data, samples, photo):
    image_id = add_library_image(samples / "photos" / photo)
    started = character_tasks.create_character(image_id, f"Test {photo}", "local", "blue jacket")
    job = job_store.get_job(started["job_id"])
    assert job.status == "completed", job.error_message
    assert job.output_payload["result_ids"] == [started["character_id"]]
    diagram = catalog.get_diagram(started["character_id"])
    assert diagram.status == "ready" and diagram.provider == "local" and diagram.cost_cents == 0
    library = catalog.get_library_image(diagram.image_id)
    assert library.character_diagram_id == diagram.id and library.file == diagram.file
    assert abs_path(library.thumbnail).is_file()
    sheet = load_rgb(abs_path(diagram.file))
    assert (sheet.shape[1], sheet.shape[0]) == SHEET_SIZE
    x, y, w, h = CLOSEUP_BOX
    faces = detect_faces(np.ascontiguousarray(sheet[y:y + h, x:x + w]))
    assert faces, "no face in the sheet's close-up panel"
    assert faces[0].box[2] >= 0.3 * w  # enlarged: the face fills a good part of the panel
    # The sheet works as a face image: its largest face is the close-up.
    fx, fy = detect_faces(sheet)[0].center
    assert x <= fx <= x + w and y <= fy <= y + h
    assert rows(CostRecord) == []


def test_no_face_fails_clearly_and_calls_no_provider(data, monkeypatch, tmp_path):
    blank = tmp_path / "wall.png"
    gradient = np.tile(np.linspace(60, 200, 320, dtype=np.uint8)[:, None, None], (1, 240, 3))
    PILImage.fromarray(gradient).save(blank)
    image_id = add_library_image(blank, "wall")
    fake = FakeGemini(script=[image_answer()])
    with FakeGeminiServer(fake) as server:
        monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
        monkeypatch.setenv("NOVAI_GEMINI_BASE_URL", server.base_url)
        reset_settings()
        started = character_tasks.create_character(image_id, "Nobody", "gemini")
    job = job_store.get_job(started["job_id"])
    assert job.status == "failed" and "no face found in 'wall'" in job.error_message
    assert fake.requests == []
    assert catalog.get_diagram(started["character_id"]).status == "failed"
    assert rows(CostRecord) == [] and [i for i in rows(Image) if i.character_diagram_id] == []


def _use_fake(monkeypatch, server: FakeGeminiServer) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    monkeypatch.setenv("NOVAI_GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("NOVAI_GEMINI_RETRY_ATTEMPTS", "1")
    reset_settings()


def test_gemini_job_stores_the_image_and_records_the_cost(data, samples, monkeypatch):
    image_id = add_library_image(samples / "photos" / "astronaut.png")
    fake = FakeGemini(script=[image_answer(png_bytes((320, 180), (30, 60, 90)), text="Sheet ready.")])
    with FakeGeminiServer(fake) as server:
        _use_fake(monkeypatch, server)
        started = character_tasks.create_character(image_id, "Eileen", "gemini", "flight suit")
    job = job_store.get_job(started["job_id"])
    assert job.status == "completed", job.error_message
    assert job.output_payload["model_text"] == "Sheet ready." and job.cost_cents == 7
    assert len(fake.requests) == 1 and fake.requests[0].model == "gemini-3.1-flash-image"
    [cost] = rows(CostRecord)
    assert (cost.job_id, cost.job_type, cost.amount_cents) == (job.id, "character", 7)
    diagram = catalog.get_diagram(started["character_id"])
    assert diagram.cost_cents == 7 and diagram.status == "ready"
    [held] = rows(SpendReservation)  # the estimate held at submission, settled to the real cost
    assert (held.job_id, held.estimate_cents, held.status, held.settled_cents) == (job.id, 7, "settled", 7)
    with PILImage.open(abs_path(diagram.file)) as stored:
        assert stored.size == (320, 180)


def test_gemini_safety_finish_fails_the_job_with_the_reason(data, samples, monkeypatch):
    image_id = add_library_image(samples / "photos" / "obama.jpg")
    fake = FakeGemini(script=[safety_answer()])
    with FakeGeminiServer(fake) as server:
        _use_fake(monkeypatch, server)
        started = character_tasks.create_character(image_id, "Blocked", "gemini")
    job = job_store.get_job(started["job_id"])
    assert job.status == "failed" and "finish reason SAFETY" in job.error_message
    assert catalog.get_diagram(started["character_id"]).error_message == job.error_message
    assert rows(CostRecord) == [] and [i for i in rows(Image) if i.character_diagram_id] == []


def test_gemini_malformed_image_fails_and_stores_nothing(data, samples, monkeypatch):
    image_id = add_library_image(samples / "photos" / "obama.jpg")
    fake = FakeGemini(script=[image_answer(b"not really a png")])
    with FakeGeminiServer(fake) as server:
        _use_fake(monkeypatch, server)
        started = character_tasks.create_character(image_id, "Broken", "gemini")
    job = job_store.get_job(started["job_id"])
    assert job.status == "failed" and "could not be decoded" in job.error_message
    assert not list((data / "media" / "images").glob("*Broken*"))


def test_bad_requests_are_refused_before_any_job(data, samples):
    image_id = add_library_image(samples / "photos" / "obama.jpg")
    with pytest.raises(ValueError, match="name"):
        character_tasks.create_character(image_id, "   ")
    with pytest.raises(ValueError, match="unknown character provider"):
        character_tasks.create_character(image_id, "A", "midjourney")
    with pytest.raises(ValueError, match="GOOGLE_API_KEY"):
        character_tasks.create_character(image_id, "A", "gemini")
    with pytest.raises(LookupError, match="no library image"):
        character_tasks.create_character("nope", "A")
    assert rows(Job) == [] and rows(CharacterDiagram) == []


def test_regenerate_rename_delete(data, samples):
    image_id = add_library_image(samples / "photos" / "lin-manuel-miranda.png")
    first = character_tasks.create_character(image_id, "Lin", "local")
    second = character_tasks.regenerate_character(first["character_id"])
    assert second["character_id"] != first["character_id"] and second["job_id"] != first["job_id"]
    listed = character_tasks.list_characters()
    assert {c["id"] for c in listed} == {first["character_id"], second["character_id"]}
    assert all(c["status"] == "ready" and Path(c["file_path"]).is_file() for c in listed)

    renamed = character_tasks.rename_character(first["character_id"], "  Lin  Manuel ")
    assert renamed["name"] == "Lin Manuel"
    assert catalog.get_library_image(renamed["image_id"]).name == "Lin Manuel"

    files = [Path(renamed["file_path"]), Path(renamed["thumbnail_file"])]
    character_tasks.delete_character(first["character_id"])
    assert not any(f.exists() for f in files)
    assert [c["id"] for c in character_tasks.list_characters()] == [second["character_id"]]
    with session_scope() as session:
        assert session.get(Image, renamed["image_id"]) is None
        assert session.get(Image, image_id) is not None  # the source photo stays
    with pytest.raises(catalog.CharacterNotFound):
        character_tasks.delete_character(first["character_id"])


def test_import_diagram_and_refusals(data, samples, tmp_path, monkeypatch):
    imported = character_tasks.import_character(str(samples / "photos" / "biden_portrait.jpg"), "Joe sheet")
    assert imported["provider"] == "import" and imported["status"] == "ready"
    library = catalog.get_library_image(imported["image_id"])
    assert library.character_diagram_id == imported["id"] and (library.width, library.height) == (1200, 1200)

    fake_png = tmp_path / "notes.png"
    fake_png.write_text("this is text, named like an image")
    with pytest.raises(ImageFileError, match="not an image: notes.png"):
        character_tasks.import_character(str(fake_png), "Bad")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((samples / "photos" / "obama.jpg").read_bytes()[:20000])
    with pytest.raises(ImageFileError, match="cut.jpg"):
        character_tasks.upload_source_photo(str(truncated))

    monkeypatch.setenv("NOVAI_MAX_IMAGE_UPLOAD_MB", "1")
    reset_settings()
    big = tmp_path / "noise.png"
    PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (800, 800, 3), dtype=np.uint8)).save(big)
    with pytest.raises(ImageFileError, match="image too large: noise.png"):
        character_tasks.upload_source_photo(str(big))
    assert [c["id"] for c in character_tasks.list_characters()] == [imported["id"]]


def test_upload_source_photo_then_create(data, samples):
    uploaded = character_tasks.upload_source_photo(str(samples / "photos" / "obama.jpg"), "Barack")
    assert catalog.get_library_image(uploaded["image_id"]).character_diagram_id is None
    started = character_tasks.create_character(uploaded["image_id"], "Barack", "local")
    assert job_store.get_job(started["job_id"]).status == "completed"


def test_failed_gemini_job_can_be_retried_from_the_jobs_tab(data, samples, monkeypatch):
    from jobs.runner import retry_job

    image_id = add_library_image(samples / "photos" / "obama.jpg")
    fake = FakeGemini(script=[safety_answer(), image_answer()])
    with FakeGeminiServer(fake) as server:
        _use_fake(monkeypatch, server)
        started = character_tasks.create_character(image_id, "Second try", "gemini")
        assert job_store.get_job(started["job_id"]).status == "failed"
        retry_job(started["job_id"])
    job = job_store.get_job(started["job_id"])
    assert job.status == "completed" and job.output_payload["result_ids"] == [started["character_id"]]
    assert catalog.get_diagram(started["character_id"]).status == "ready"
    assert len(fake.requests) == 2 and [c.amount_cents for c in rows(CostRecord)] == [7]
    # The failed attempt released its hold; the retry held the estimate again and settled it.
    assert sorted(r.status for r in rows(SpendReservation)) == ["released", "settled"]
