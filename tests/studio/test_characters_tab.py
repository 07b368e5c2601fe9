"""The Characters tab's event handlers, called as Gradio would call them (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.queue import huey
from studio import characters_tab as tab


@pytest.fixture
def data(fresh_data_dir):
    previous = huey.immediate
    huey.immediate = True
    yield fresh_data_dir
    huey.immediate = previous


def test_upload_submit_poll_shows_the_result(data, samples, tmp_path, uploaded):
    source, preview, name, message = tab._upload(uploaded(samples / "photos" / "astronaut.png"), "")
    image_id = source["value"]
    assert image_id in [value for _, value in tab._source_choices()]
    assert Path(preview).is_file() and name == "astronaut" and "added" in message

    job_id, status, _, timer = tab._submit(image_id, "Eileen", "local", "")
    assert job_id and "started" in status and timer.active
    status, _, timer, selected, image, info, new_name, gallery, table = tab._poll(job_id, None)
    assert "ready" in status and not timer.active
    assert Path(image).is_file() and new_name == "Eileen" and "Eileen" in info
    assert [row[0] for row in table] == [selected] and len(gallery) == 1


def test_handlers_report_bad_input(data, tmp_path, uploaded):
    bogus = tmp_path / "photo.jpg"
    bogus.write_text("plain text")
    *_, message = tab._upload(uploaded(bogus), "")
    assert "not an image: photo.jpg" in message
    job_id, status, _, timer = tab._submit(None, "X", "local", "")
    assert job_id == "" and "pick a library image" in status and not timer.active
    assert "select a character first" in tab._rename(None, "Y")[0]
    assert "confirm" in tab._delete("someid", False)[0]


def test_picking_a_library_photo_suggests_its_name_without_the_extension(data, samples):
    from media import library

    photo = samples / "photos" / "lin-manuel-miranda.png"
    image_id = library.import_file(photo, "image").id  # the Library keeps the file name as its name
    path, name = tab._pick_source(image_id, "")
    assert Path(path).is_file() and name == "lin-manuel-miranda"
    assert tab._pick_source(image_id, "Lin")[1] == "Lin"  # a typed name is kept
