"""Chromium plays a variant whose hook window carries its own parameter sets in-band (``avc3``, issue 15)
between GOPs of other parameter sets: a stream-copied source (without and with B-frames) and a
transcoded copy at the production presets (copy ``veryfast`` with B-frames, window ``ultrafast``
without, its decode timestamps moved by the copy's B-frame delay); the browser must decode it to the
end with no media error."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading

import pytest

from media.ffmpeg_run import ffmpeg_exe
from media.variant_render import VariantOptions, render_variant
from tests.e2e.studio_server import CHROMIUM, CHROMIUM_ARGS, browser_missing_reason

PAGE = """<!doctype html><video id="v" src="variant.mp4" muted playsinline></video>
<script>
const v = document.getElementById('v');
window.result = null;
v.addEventListener('error', () => { window.result = {error: v.error && v.error.code}; });
v.addEventListener('ended', () => { const q = v.getVideoPlaybackQuality();
  window.result = {error: null, width: v.videoWidth, height: v.videoHeight, duration: v.duration,
                   frames: q.totalVideoFrames, dropped: q.droppedVideoFrames}; });
v.play();
</script>"""


# name -> (video filter, x264 preset of the source, studio output preset)
SOURCES = {
    "copied": ("scale=1080:1920,fps=30,format=yuv420p", "ultrafast", None),
    "copied-bframes": ("scale=1080:1920,fps=30,format=yuv420p", "veryfast", None),
    "transcoded": ("scale=720:1280,fps=25,format=yuv420p", "ultrafast", "veryfast"),
}


@pytest.mark.skipif(browser_missing_reason() is not None, reason=str(browser_missing_reason()))
@pytest.mark.parametrize("kind", list(SOURCES))
def test_chromium_plays_a_variant_with_an_in_band_window(samples, tmp_path, monkeypatch, kind):
    from media.normalize import cached_normalized
    from media.settings import reset_settings

    vf, preset, output = SOURCES[kind]
    src = tmp_path / "source.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1",
                    "-i", str(samples / "videos" / "liveportrait_d13.mp4"), "-i", str(samples / "audio" / "musetalk_sun.wav"),
                    "-map", "0:v", "-map", "1:a", "-vf", vf,
                    "-c:v", "libx264", "-preset", preset, "-crf", "26", "-g", "30", "-c:a", "aac", "-t", "3",
                    str(src)], check=True)
    site = tmp_path / "site"
    site.mkdir()
    if output:
        monkeypatch.setenv("NOVAI_OUTPUT_PRESET", output)
    monkeypatch.setenv("NOVAI_HOOK_WINDOW_PRESET", "ultrafast")
    reset_settings()
    try:
        result = render_variant(src, None, "Plays in Chromium", VariantOptions(hook_start_s=1.0, hook_duration_s=1.0),
                                site / "variant.mp4", tmp_path / "cache")
        norm = cached_normalized(src, "blur", tmp_path / "cache")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert result.render_path == "fast" and norm is not None and norm.copied == kind.startswith("copied")
    import av
    with av.open(str(result.path)) as container:  # the window's own SPS/PPS are in-band
        assert container.streams.video[0].codec_context.codec_tag == "avc3"
    (site / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("window.result !== null", timeout=120_000)
            outcome = page.evaluate("window.result")
            browser.close()
    finally:
        server.shutdown()
    assert outcome["error"] is None, outcome
    assert (outcome["width"], outcome["height"]) == (1080, 1920)
    assert outcome["duration"] == pytest.approx(3.0, abs=0.1)
    assert outcome["frames"] >= 80, outcome  # ~90 frames decoded and presented
