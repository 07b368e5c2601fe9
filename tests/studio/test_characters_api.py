"""The Characters tab's named API endpoints through gradio_client, on a launched Blocks holding the tab."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import pytest

from jobs.queue import huey
from media.db import session_scope
from media.models import Image
from media.store import new_file_path, rel_path
from studio import characters_tab
from tests.serving import served


@pytest.fixture(scope="module")
def client():
    previous = huey.immediate
    huey.immediate = True  # tasks run inside the request; the queue itself is tested elsewhere
    with gr.Blocks() as demo:
        characters_tab.build()
    try:
        with served(demo) as studio:
            yield studio
    finally:
        huey.immediate = previous


def _library_image(path: Path) -> str:
    dest = new_file_path("images", path.name)
    shutil.copyfile(path, dest)
    with session_scope() as session:
        row = Image(name=path.stem, file=rel_path(dest), width=512, height=512, format="png")
        session.add(row)
    return row.id


def test_create_list_rename_delete_through_the_api(client, samples):
    image_id = _library_image(samples / "photos" / "astronaut.png")
    started = client.predict(image_id, "Eileen", "local", "orange flight suit", api_name="/create_character")
    assert set(started) == {"job_id", "character_id"}
    listed = client.predict(api_name="/list_characters")
    [mine] = [c for c in listed if c["id"] == started["character_id"]]
    assert mine["status"] == "ready" and mine["notes"] == "orange flight suit" and Path(mine["file_path"]).is_file()
    renamed = client.predict(mine["id"], "Eileen C.", api_name="/rename_character")
    assert renamed["name"] == "Eileen C."
    assert client.predict(mine["id"], api_name="/delete_character") == {"deleted": mine["id"]}
    assert mine["id"] not in [c["id"] for c in client.predict(api_name="/list_characters")]


def test_api_errors_name_the_problem(client):
    with pytest.raises(Exception, match="no library image"):
        client.predict("missing", "X", "local", "", api_name="/create_character")
    with pytest.raises(Exception, match="GOOGLE_API_KEY"):
        client.predict(_library_image(Path(__file__)), "X", "gemini", "", api_name="/create_character")
