"""The LoRA Creator's named API through gradio_client, on a launched Blocks holding the tab."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file

from jobs.queue import huey
from media.settings import get_settings
from studio import lora_tab
from studio.common import launch_blocks
from tests.fakes.fal_server import FakeFal
from tests.jobs.test_lora_training import TRAINER, script_trainer
from tests.media.test_lora_import import write_lora


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client(fresh_data_dir):
    with gr.Blocks() as demo:
        lora_tab.build()
    port = _free_port()
    launch_blocks(demo.queue(), server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                        allowed_paths=[str(get_settings().media_dir)], quiet=True)
    huey.immediate = True
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        huey.immediate = False
        demo.close()


def test_api_build_train_import_list(client, fal_fake: FakeFal, samples: Path, tmp_path: Path) -> None:
    from jobs.lora_api import build_lora_dataset_from_files  # uploads go through the tab; ids through the API

    dataset = build_lora_dataset_from_files([samples / "photos" / "biden_portrait.jpg"], "bdn")
    with pytest.raises(Exception, match="no library image or character diagram with id nope"):
        client.predict(["nope"], "ohwx", {}, api_name="/build_lora_dataset")

    estimate = client.predict(300, api_name="/estimate_lora_training")
    assert estimate["cents"] == 135

    script_trainer(fal_fake, queue_polls=1, progress_polls=1)
    started = client.predict(dataset["dataset_id"], "Biden", {"steps": 300}, api_name="/train_lora")
    assert set(started) == {"job_id", "lora_id", "estimate_cents"}
    (sub,) = [s for s in fal_fake.submissions.values() if s.endpoint == TRAINER]
    assert sub.arguments["steps"] == 300 and sub.arguments["trigger_phrase"] == "bdn"

    lora_file = write_lora(tmp_path / "mine.safetensors", rank=4)
    imported = client.predict(handle_file(str(lora_file)), "Mine", "mn", api_name="/import_lora")
    assert imported["rank"] == 4 and imported["source"] == "imported"

    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(Exception, match="pickles"):
        client.predict(handle_file(str(evil)), "Evil", "", api_name="/import_lora")

    listed = client.predict(api_name="/list_loras")
    assert {row["name"]: row["status"] for row in listed} == {"Mine": "ready", "Biden": "ready"}
    assert client.predict(imported["lora_id"], api_name="/delete_lora") == {"deleted": imported["lora_id"]}
    assert [row["name"] for row in client.predict(api_name="/list_loras")] == ["Biden"]
