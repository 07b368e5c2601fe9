"""End to end in a real browser: every tab, Library uploads, a small variant batch, the Dashboard counts.

Playwright for Python drives Debian's chromium (/usr/bin/chromium; .ci/install-browser.sh installs
both). Skipped, with the reason, when either is missing. Screenshots of each step are written to
``test-artifacts/browser/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.studio_server import CHROMIUM, CHROMIUM_ARGS, RunningStudio, browser_missing_reason, running_studio

REASON = browser_missing_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VIDEO_SAMPLE = "retalking_face_2.mp4"  # 5 s, has audio
AUDIO_SAMPLE = "vctk_p240_00000.mp3"  # 4.9 s
UI_TIMEOUT_MS = 30_000
BATCH_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[RunningStudio]:
    with running_studio(tmp_path_factory.mktemp("e2e") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def page(studio):
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(UI_TIMEOUT_MS)
        tab = context.new_page()
        tab.goto(studio.url)
        tab.get_by_role("tab", name="Dashboard").wait_for()
        yield tab
        context.close()
        browser.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_tab(page, title: str, nested: str | None = None):
    page.get_by_role("tab", name=title, exact=True).first.click()
    if nested:
        page.get_by_role("tab", name=nested, exact=True).click()
    return page.locator("[role=tabpanel]:visible").last


def block_with_label(panel, label: str):
    """The Gradio component block whose label is ``label``."""
    return panel.locator(".block").filter(has=panel.page.get_by_text(label, exact=True)).last


def pick_option(page, combobox_label: str, option: str | re.Pattern, nth: int = 0) -> None:
    box = page.get_by_role("combobox", name=combobox_label).nth(nth)
    box.click()
    page.get_by_role("option", name=option).first.click()
    page.keyboard.press("Escape")


def dashboard_count(page, kind: str) -> int:
    return int(page.locator(f'#novai-counts [data-kind="{kind}"] .novai-card-n').inner_text())


def test_studio_in_a_browser(page, studio, samples):
    from studio.app import TABS

    # 1. Every tab opens and shows its content.
    assert page.title() == "NOVAI Studio"
    for index, tab in enumerate(TABS):
        panel = open_tab(page, tab.TITLE)
        panel.wait_for()
        assert panel.inner_text().strip(), f"tab {tab.TITLE} is empty"
        shot(page, f"01_tab_{index:02d}_{tab.__name__.rsplit('.', 1)[-1]}")
    open_tab(page, "Dashboard")
    page.get_by_role("button", name="Refresh").first.click()
    page.wait_for_function("document.querySelector('#novai-counts [data-kind=videos] .novai-card-n')"
                           ".innerText === '0'")
    before = {kind: dashboard_count(page, kind) for kind in ("videos", "audios", "hooks")}
    assert before == {"videos": 0, "audios": 0, "hooks": 0}

    # 2. Library: upload a video, an audio track and the hooks file.
    panel = open_tab(page, "Library", "Videos")
    block_with_label(panel, "Upload videos (several at once)").locator("input[type=file]").set_input_files(
        str(samples / "videos" / VIDEO_SAMPLE))
    panel.get_by_text(VIDEO_SAMPLE).first.wait_for()  # Gradio finished uploading
    panel.get_by_role("button", name="Add videos").click()
    panel.get_by_text("stored 1 video file(s)").wait_for()
    panel.get_by_role("cell", name=VIDEO_SAMPLE.rsplit(".", 1)[0]).or_(
        panel.get_by_role("cell", name=VIDEO_SAMPLE)).first.wait_for()
    shot(page, "02_library_video_uploaded")

    panel = open_tab(page, "Library", "Audios")
    block_with_label(panel, "Upload audios (several at once)").locator("input[type=file]").set_input_files(
        str(samples / "audio" / AUDIO_SAMPLE))
    panel.get_by_text(AUDIO_SAMPLE).first.wait_for()
    panel.get_by_role("button", name="Add audios").click()
    panel.get_by_text("stored 1 audio file(s)").wait_for()
    shot(page, "03_library_audio_uploaded")

    hooks_text = (samples / "hooks.txt").read_text(encoding="utf-8")
    hook_count = len([line for line in hooks_text.splitlines() if line.strip()])
    panel = open_tab(page, "Library", "Hooks")
    panel.locator(".block").filter(has=page.get_by_text(re.compile("or a .txt / .csv file"))).last.locator(
        "input[type=file]").set_input_files(str(samples / "hooks.txt"))
    panel.get_by_text("hooks.txt").first.wait_for()
    panel.get_by_role("button", name="Add hooks").click()
    panel.get_by_text(f"added {hook_count} hook(s)").wait_for()
    first_hook = hooks_text.splitlines()[0].strip()
    panel.get_by_text(first_hook).first.wait_for()
    shot(page, "04_library_hooks_added")

    # 3. Variants: 1 video x 1 variant with the audio and one hook; follow it to the end.
    panel = open_tab(page, "Variants")
    panel.get_by_role("button", name="Reload library").click()
    pick_option(page, "…and/or single videos", re.compile(re.escape(VIDEO_SAMPLE)))
    pick_option(page, "…and/or single tracks", re.compile(re.escape(AUDIO_SAMPLE)))
    pick_option(page, "…and/or single hooks", re.compile(re.escape(first_hook[:30])))
    per_video = page.get_by_label("number input for Variants per video")
    per_video.fill("1")
    per_video.press("Enter")
    panel.get_by_text(re.compile(r"1 variant\(s\)")).wait_for()
    shot(page, "05_variants_planned")
    panel.get_by_role("button", name="Start batch").click()
    panel.get_by_text(re.compile(r"batch \w+ started: 1 variants")).wait_for()
    panel.get_by_text(re.compile(r"1 done, 0 failed, 0 canceled of 1")).wait_for(timeout=BATCH_TIMEOUT_MS)
    shot(page, "06_variants_batch_done")

    gallery = block_with_label(panel, "Results")
    gallery.locator("button").filter(has=page.locator("video")).first.or_(
        gallery.locator("video").first).first.click()
    video = gallery.locator("video").first
    video.wait_for()
    played = video.evaluate("""v => new Promise(resolve => {
        v.muted = true;
        const done = () => resolve({t: v.currentTime, err: v.error && v.error.code, rs: v.readyState,
                                    w: v.videoWidth, h: v.videoHeight});
        v.addEventListener('timeupdate', () => { if (v.currentTime > 0.3) done(); });
        v.addEventListener('error', done);
        v.play().catch(done);
        setTimeout(done, 15000);
    })""")
    shot(page, "07_variants_video_playing")
    assert played["err"] is None, f"the result video failed to play: {played}"
    assert played["t"] > 0.3, f"the result video did not play: {played}"
    assert (played["w"], played["h"]) == (1080, 1920), played

    # 4. Dashboard shows the new counts, equal to the catalog's.
    from media.stats import count_rows

    open_tab(page, "Dashboard")
    page.get_by_role("button", name="Refresh").first.click()
    catalog = count_rows()
    page.wait_for_function(
        f"document.querySelector('#novai-counts [data-kind=hooks] .novai-card-n').innerText === '{hook_count}'")
    shown = {kind: dashboard_count(page, kind) for kind in catalog}
    shot(page, "08_dashboard_counts")
    assert shown == catalog
    assert shown["audios"] == 1 and shown["hooks"] == hook_count and shown["videos"] >= 1
    storage = page.locator("#dash-storage").inner_text()
    assert "Videos" in storage and "Total media folder" in storage
