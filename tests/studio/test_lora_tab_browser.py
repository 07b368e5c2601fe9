"""The LoRA Creator tab in a real browser (Playwright + Chromium): build a dataset, refuse a pickle.

Skips, saying why, when Playwright or a Chromium is not installed.
"""

from __future__ import annotations

import pickle
import re
import shutil
import socket
from pathlib import Path

import gradio as gr
import pytest

from media.settings import get_settings
from studio import lora_tab

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch_browser(playwright):
    try:
        return playwright.chromium.launch()
    except Exception:  # noqa: BLE001  (no bundled browser: try a system Chromium)
        exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if not exe:
            pytest.skip("no Chromium for Playwright (run `playwright install chromium`)")
        return playwright.chromium.launch(executable_path=exe, args=["--no-sandbox"])


@pytest.fixture
def page(fresh_data_dir):
    with gr.Blocks() as demo:
        lora_tab.build()
    port = _free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        allowed_paths=[str(get_settings().media_dir)])
    try:
        with sync_api.sync_playwright() as playwright:
            browser = _launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            yield page
            browser.close()
    finally:
        demo.close()


def test_build_dataset_and_refuse_pickle_in_the_browser(page, samples: Path, tmp_path: Path) -> None:
    photos = [samples / "photos" / n for n in ("obama.jpg", "astronaut.png", "lin-manuel-miranda.png")]
    page.locator("#lora-dataset-uploads input[type=file]").set_input_files([str(p) for p in photos])
    page.locator("#lora-dataset-uploads").get_by_text("lin-manuel-miranda").first.wait_for()  # uploaded
    page.get_by_role("textbox", name=re.compile(r"^Trigger word")).fill("zxq")
    page.get_by_role("button", name="Build dataset").click()

    page.get_by_text("dataset ready: 3 image(s), trigger word").wait_for()
    page.get_by_text("only 3 image(s): LoRA trainers ask for at least 10").wait_for()
    assert page.get_by_text("a photo of zxq").count() >= 3  # gallery captions and the editable table
    assert page.locator("text=001_obama.jpg").count() >= 1
    assert page.get_by_text("Estimated fal cost:").count() == 1

    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"x": 1}))
    page.get_by_text("3 · Import a LoRA (.safetensors)").click()
    page.locator("#lora-import-file input[type=file]").set_input_files(str(evil))
    page.locator("#lora-import-file").get_by_text("evil").first.wait_for()
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("pickles, which can run arbitrary code").wait_for()
