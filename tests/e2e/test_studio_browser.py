"""End to end in a real browser: every tool, Library uploads, a small variant batch, the Dashboard counts.

The home page holds the Library and Variants tabs; every other tool is a page of its own, opened from the
navigation bar (``studio.app``).

Playwright for Python drives Debian's chromium (/usr/bin/chromium; .ci/install-browser.sh installs
both). Skipped, with the reason, when either is missing. Screenshots of each step are written to
``test-artifacts/browser/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.studio_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RunningStudio,
    browser_missing_reason,
    running_studio,
)

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


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "page" in request.fixturenames:
        shot(request.getfixturevalue("page"), "99_failure")


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
        tab.get_by_role("tab", name="Variants").wait_for()
        yield tab
        context.close()
        browser.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _tool(title: str):
    from studio.app import TABS

    (tab,) = [tab for tab in TABS if tab.TITLE == title]
    return tab


def open_tab(page, title: str, nested: str | None = None):
    """Open a tool as a creator does: a page of its own by its link in the navigation bar; Library and
    Variants by the home page's link, then their tab (and a tab inside it). Returns the page, whose
    visible parts are that tool's."""
    from studio.app import HOME_NAME, page_path

    path = page_path(_tool(title))
    link = page.locator("nav").get_by_role("link", name=title if path else HOME_NAME, exact=True)
    if "active" not in (link.get_attribute("class") or "").split():  # another page: the link loads it
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(href)
    if path:
        page.locator(f"#page-{path}").wait_for()
    else:
        page.get_by_role("tab", name=title, exact=True).first.click()
    if nested:
        page.get_by_role("tab", name=nested, exact=True).click()
    return page


def content(page, title: str):
    """What the tool shows: its tab's panel on the home page, its page's column elsewhere."""
    from studio.app import page_path

    path = page_path(_tool(title))
    return page.locator(f"#page-{path}") if path else shown(page.locator("[role=tabpanel]"))


def shown(locator):
    """The first visible match (hidden tabs keep their components in the page)."""
    return locator.filter(visible=True).first


def block_with_label(page, label: str):
    """The visible Gradio component block whose label is ``label``."""
    return page.locator(".block").filter(visible=True).filter(has=page.get_by_text(label, exact=True)).last


def upload_file(page, label: str, path: Path) -> None:
    """Put ``path`` into the visible gr.File labelled ``label`` and wait until Gradio lists it."""
    from playwright.sync_api import expect

    block = block_with_label(page, label)
    block.locator("input[type=file]").set_input_files(str(path))
    expect(block).to_contain_text(path.stem, timeout=UI_TIMEOUT_MS)  # the name shows once uploaded


def pick_option(page, combobox_label: str, option: str | re.Pattern, nth: int = 0) -> None:
    box = page.get_by_role("combobox", name=combobox_label).nth(nth)
    box.click()
    page.get_by_role("option", name=option).first.click()
    page.keyboard.press("Escape")


PLAY_JS = """v => new Promise(resolve => {
    v.muted = true;
    const done = () => resolve({t: v.currentTime, err: v.error && v.error.code, rs: v.readyState,
                                w: v.videoWidth, h: v.videoHeight});
    v.addEventListener('timeupdate', () => { if (v.currentTime > 0.3) done(); });
    v.addEventListener('error', done);
    v.play().catch(done);
    setTimeout(done, 15000);
})"""


def dashboard_count(page, kind: str) -> int:
    return int(page.locator(f'#novai-counts [data-kind="{kind}"] .novai-card-n').inner_text())


def test_studio_in_a_browser(page, studio, samples, monkeypatch):
    from playwright.sync_api import expect

    from studio.app import TABS

    expect.set_options(timeout=UI_TIMEOUT_MS)

    # 1. Every tool opens (tab or page) and shows its content.
    assert page.title() == "NOVAI Studio"
    for index, tab in enumerate(TABS):
        open_tab(page, tab.TITLE)
        shows = content(page, tab.TITLE)
        shows.wait_for()
        assert shows.inner_text().strip(), f"tab {tab.TITLE} is empty"
        shot(page, f"01_tab_{index:02d}_{tab.__name__.rsplit('.', 1)[-1]}")
    open_tab(page, "Dashboard")
    page.locator("#dash-refresh").click()
    page.wait_for_function("document.querySelector('#novai-counts [data-kind=videos] .novai-card-n')"
                           ".innerText === '0'")
    before = {kind: dashboard_count(page, kind) for kind in ("videos", "audios", "hooks")}
    assert before == {"videos": 0, "audios": 0, "hooks": 0}

    # 2. Library: upload a video, an audio track and the hooks file.
    panel = open_tab(page, "Library", "Videos")
    upload_file(page, "Upload videos (several at once)", samples / "videos" / VIDEO_SAMPLE)
    panel.get_by_role("button", name="Add videos").click()
    shown(panel.get_by_text("stored 1 video file(s)")).wait_for()
    expect(panel.locator("table").filter(visible=True).last).to_contain_text(VIDEO_SAMPLE)
    shot(page, "02_library_video_uploaded")

    panel = open_tab(page, "Library", "Audios")
    upload_file(page, "Upload audios (several at once)", samples / "audio" / AUDIO_SAMPLE)
    panel.get_by_role("button", name="Add audios").click()
    shown(panel.get_by_text("stored 1 audio file(s)")).wait_for()
    expect(panel.locator("table").filter(visible=True).last).to_contain_text(AUDIO_SAMPLE)
    shot(page, "03_library_audio_uploaded")

    hooks_text = (samples / "hooks.txt").read_text(encoding="utf-8")
    hook_count = len([line for line in hooks_text.splitlines() if line.strip()])
    panel = open_tab(page, "Library", "Hooks")
    upload_file(page, "…or a .txt / .csv file (text[,category])", samples / "hooks.txt")
    panel.get_by_role("button", name="Add hooks").click()
    shown(panel.get_by_text(f"added {hook_count} hook(s)")).wait_for()
    first_hook = hooks_text.splitlines()[0].strip()
    shown(panel.get_by_text(first_hook, exact=True)).wait_for()
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
    shown(panel.get_by_text(re.compile(r"1 variant\(s\)"))).wait_for()
    shot(page, "05_variants_planned")
    panel.get_by_role("button", name="Start batch").click()
    shown(panel.get_by_text(re.compile(r"batch \w+ started: 1 variants"))).wait_for()
    shown(panel.get_by_text(re.compile(r"1 done, 0 failed, 0 canceled of 1"))).wait_for(timeout=BATCH_TIMEOUT_MS)
    shot(page, "06_variants_batch_done")

    gallery = page.locator("#variants-results")
    gallery.locator("img").first.click()  # a 9:16 thumbnail tile; the player beside it plays the variant
    video = page.locator("#variants-player video")
    video.wait_for()
    played = video.evaluate(PLAY_JS)
    shot(page, "07_variants_video_playing")
    assert played["err"] is None, f"the result video failed to play: {played}"
    assert played["t"] > 0.3, f"the result video did not play: {played}"
    assert (played["w"], played["h"]) == (1080, 1920), played

    # 4. Dashboard shows the new counts, equal to the catalog's.
    from media.stats import count_rows

    open_tab(page, "Dashboard")
    page.locator("#dash-refresh").click()
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while True:  # the page refreshes itself; wait until it shows what the catalog holds
        catalog = count_rows()
        on_screen = {kind: dashboard_count(page, kind) for kind in catalog}
        if on_screen == catalog or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    shot(page, "08_dashboard_counts")
    assert on_screen == catalog
    assert on_screen["audios"] == 1 and on_screen["hooks"] == hook_count
    # the source video and the batch's variant apart, as Library > Videos lists only the source
    assert on_screen["videos"] == 1 and on_screen["variants"] == 1
    storage = page.locator("#dash-storage").inner_text()
    assert "Videos" in storage and "Total media folder" in storage

    # 5. Settings: a key typed in is saved, shown masked and cleared from the box; a low daily limit;
    #    "Test connection" answers (fal pointed at a closed loopback port: nothing leaves the machine).
    monkeypatch.setenv("NOVAI_FAL_BASE_URL", "http://127.0.0.1:9")
    fake_key = "fal-fake-key-e2e-0123WXYZ"
    panel = open_tab(page, "Settings")
    key_box = page.locator("#settings-fal-key input, #settings-fal-key textarea").first
    key_box.fill(fake_key)
    shown(panel.get_by_role("button", name="Save key")).click()
    page.locator("#settings-fal-status").get_by_text("saved here").wait_for()
    status_line = page.locator("#settings-fal-status").inner_text()
    assert "WXYZ" in status_line and fake_key not in status_line
    assert key_box.input_value() == ""
    assert fake_key not in page.content()
    page.locator("#settings-limit input, #settings-limit textarea").first.fill("1.00")
    page.locator("#settings-limit-save").click()
    page.locator("#settings-limit-status").get_by_text(re.compile(r"In force:.*\$1\.00")).wait_for()
    page.locator("#settings-fal-test").click()
    page.locator("#settings-fal-message").get_by_text(re.compile("cannot reach fal")).wait_for()
    shot(page, "09_settings_key_limit_test")
    from media.costs import SpendLimitExceeded, check_spend_limit

    with pytest.raises(SpendLimitExceeded, match=r"daily limit is \$1\.00 \(100¢\)"):
        check_spend_limit(101)  # what a paid tool runs before queueing, with the limit set in the UI


def _import(samples: Path, tmp_path: Path, rel: str, kind: str) -> str:
    """Add a sample to the library in-process (as another tab or an API client would); returns its id."""
    from jobs.library import import_uploads

    src = samples / rel
    copy = tmp_path / src.name
    shutil.copyfile(src, copy)
    (outcome,) = import_uploads([(copy, src.name)], kind, "", prepare=False)
    assert outcome["id"], outcome
    return outcome["id"]


def _finished_batch(samples: Path, tmp_path: Path) -> str:
    """A completed variant batch: the one the first test rendered, else a new one of one variant."""
    from jobs.variants import create_variant_batch
    from media import batches, library

    done = [b for b in batches.list_batches() if b.status == "completed"]
    if done:
        return done[0].id
    videos = library.list_items("video") or [library.get_item("video", _import(
        samples, tmp_path, f"videos/{VIDEO_SAMPLE}", "video"))]
    batch_id = create_variant_batch([videos[0].id], [], [], 1)["batch_id"]
    deadline = time.monotonic() + BATCH_TIMEOUT_MS / 1000
    while batches.batch_status(batch_id)["done"] < 1 and time.monotonic() < deadline:
        time.sleep(1)
    return batch_id


TILE_JS = """i => {
    const tile = i.closest('.thumbnail-item').getBoundingClientRect();
    const view = i.closest('.grid-wrap').getBoundingClientRect();
    return {nw: i.naturalWidth, nh: i.naturalHeight, fit: getComputedStyle(i).objectFit,
            tw: tile.width, th: tile.height,
            inside: tile.top >= view.top - 1 && tile.bottom <= view.bottom + 1
                    && tile.left >= view.left - 1 && tile.right <= view.right + 1};
}"""


def _looks_like_a_button(button) -> bool:
    """A button stands out: its background or its border differs from what is behind it."""
    style = button.evaluate("""b => {
        const bg = e => getComputedStyle(e).backgroundColor;
        const clear = c => c === 'rgba(0, 0, 0, 0)' || c === 'transparent';
        let p = b.parentElement;
        while (p && clear(bg(p))) p = p.parentElement;
        const s = getComputedStyle(b);
        return {own: bg(b), behind: p ? bg(p) : 'rgb(255, 255, 255)', border: parseFloat(s.borderTopWidth),
                borderColor: s.borderTopColor};
    }""")
    filled = style["own"] != style["behind"] and style["own"] not in ("rgba(0, 0, 0, 0)", "transparent")
    outlined = style["border"] >= 1 and style["borderColor"] not in (style["behind"], "rgba(0, 0, 0, 0)")
    return filled or outlined


def test_what_a_new_user_hit(page, studio, samples, tmp_path):
    """Issue 10's browser defects: pickers filled after a reload and refreshed when the library changes,
    whole frames in the Swapper and 9:16 result tiles from thumbnails, dashboard counts and storage,
    Settings buttons and tables, the Credits chart without spend."""
    from playwright.sync_api import expect

    from jobs import lora_api
    from media import batches
    from media.characters.catalog import import_diagram

    expect.set_options(timeout=UI_TIMEOUT_MS)
    image_id = _import(samples, tmp_path, "photos/obama.jpg", "image")
    dataset = lora_api.build_lora_dataset([image_id], "ohwx", {"name": "e2e-dataset"})
    portrait = tmp_path / "diagram.png"
    shutil.copyfile(samples / "photos" / "lin-manuel-miranda.png", portrait)
    import_diagram(portrait, "Lin")
    batch_id = _finished_batch(samples, tmp_path)
    page.goto(studio.url)
    page.get_by_role("tab", name="Variants").wait_for()

    # LoRA Creator: both pickers come from the catalog after a reload ...
    open_tab(page, "LoRA Creator")
    pick_option(page, "…or library images / character diagrams", re.compile(r"image: obama"))
    page.locator("#lora-train-dataset input").click()
    page.get_by_role("option", name=re.compile(r"e2e-dataset")).first.click()
    expect(page.locator("#lora-train-dataset input")).to_have_value(re.compile(r"e2e-dataset"))
    # ... and an image added elsewhere since shows up when the picker is opened again.
    _import(samples, tmp_path, "photos/astronaut.png", "image")
    pick_option(page, "…or library images / character diagrams", re.compile(r"image: astronaut"))
    expect(page.locator("#lora-dataset-picks")).to_contain_text("astronaut")
    assert dataset["count"] == 1
    shot(page, "10_lora_pickers")

    # Swapper: the "Selected" preview shows the whole frame, not a zoomed crop.
    open_tab(page, "Swapper")
    pick_option(page, "Videos to swap (one job each)", re.compile(re.escape(VIDEO_SAMPLE)))
    thumb = page.locator("#swap-selected img").first
    thumb.wait_for()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=thumb.element_handle())
    selected = thumb.evaluate(TILE_JS)
    assert selected["fit"] == "contain", selected  # the frame letterboxed in its tile, not cropped
    assert selected["inside"], f"the tile runs past the gallery's visible area: {selected}"
    shot(page, "11_swapper_selected")

    # Variants: a reopened batch shows frames (thumbnails), in 9:16 tiles that crop nothing.
    open_tab(page, "Variants")
    pick_option(page, "Open batch", re.compile(re.escape(batch_id[:8])))
    tile_img = page.locator("#variants-results img").first
    tile_img.wait_for()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=tile_img.element_handle())
    frame = tile_img.evaluate(TILE_JS)
    shot(page, "12_variants_reopened")
    assert page.locator("#variants-results video").count() == 0, "tiles must be frames, not video icons"
    assert abs(frame["nh"] / frame["nw"] - 16 / 9) < 0.02, frame  # the variant's own 9:16 frame
    assert abs(frame["th"] / frame["tw"] - 16 / 9) < 0.1, frame  # a 9:16 tile, not a square
    assert frame["fit"] == "contain", frame
    assert frame["inside"], f"the tile runs past the gallery's visible area: {frame}"
    assert len(batches.batch_results(batch_id)) >= 1

    # Dashboard: Videos = what Library > Videos lists; a character's files count under Characters.
    from media.library import list_items

    open_tab(page, "Dashboard")
    page.locator("#dash-refresh").click()
    expect(page.locator('#novai-counts [data-kind="videos"] .novai-card-n')).to_have_text(
        str(len(list_items("video"))))
    characters_row = page.locator("#dash-storage").get_by_role("row").filter(has_text="Characters").first
    expect(characters_row).to_contain_text(re.compile(r"\d+(\.\d)? [KM]iB"))  # not "0 B"
    shot(page, "13_dashboard_apart")

    # Settings: the key buttons look like buttons; the tables fit the page (no cut-off right column).
    panel = open_tab(page, "Settings")
    for name in ("Save key", "Forget saved key", "Test connection"):
        button = shown(panel.get_by_role("button", name=name))
        assert _looks_like_a_button(button), f"{name!r} looks like plain text"
    for label in ("Output defaults", "Price tables (units in each setting's name)"):
        block = block_with_label(page, label)
        overflow = block.evaluate("""b => { const t = b.querySelector('table');
            const r = b.getBoundingClientRect(); const last = t.querySelector('thead th:last-child');
            return {right: last.getBoundingClientRect().right, edge: r.right}; }""")
        assert overflow["right"] <= overflow["edge"] + 1, f"{label}: right-hand column cut off {overflow}"
    shot(page, "14_settings_buttons")

    # Credits without spend: no empty chart (its legend read "NaN"), a sentence instead.
    panel = open_tab(page, "Credits")
    shown(panel.get_by_text(re.compile(r"No spend recorded in the last 30 days"))).wait_for()
    expect(page.locator("#credits-chart")).to_be_hidden()
    assert "NaN" not in content(page, "Credits").inner_text()
    shot(page, "15_credits_empty")
