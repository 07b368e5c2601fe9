"""The Variants tab's issue-11 controls (built from VariantOptions), its one-frame preview, and a still
image as a batch source (Ken Burns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs import variants as variant_jobs
from jobs.queue import huey
from media import hooks, library
from media.captions import CaptionLook, band_size, place_band
from media.probe import probe
from media.text_render import render_hook
from media.variant_options import field_spec
from studio import variants_tab as tab

pytestmark = pytest.mark.slow
LEGACY = ["round_robin", 0, "top", 0, 1, 0, "#FFFFFF", "#000000", False, "replace", "blur"]


def test_controls_come_from_the_model():
    import gradio as gr

    with gr.Blocks():
        style = tab._control("caption_style")
        duck = tab._control("duck_db")
    assert [c[1] for c in style.choices] == field_spec("caption_style")["choices"]
    assert style.value == "karaoke"
    assert (duck.minimum, duck.maximum, duck.value) == (0, 40, 15.0)


def test_preview_shows_hook_and_caption_band(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    hook = hooks.add_hooks("Preview hook text")[0].id
    new = ["speech", "pop", "lower_third", 64, "off", "joe-us", 15, -14]
    with_caps, msg = tab._preview([], [video], [], [hook], *LEGACY, *new, "")
    without, _ = tab._preview([], [video], [], [hook], *LEGACY, *(["off"] + new[1:]), "")
    a, b = np.asarray(with_caps, dtype=float), np.asarray(without, dtype=float)
    assert a.shape == (1920, 1080, 3) and "preview" in msg
    _, h = band_size(CaptionLook(style="pop"))
    box = render_hook("Preview hook text", position="top").bbox
    _, y = place_band(h, "lower_third", box)
    assert np.abs(a[y:y + h] - b[y:y + h]).mean() > 3  # the caption band is drawn there
    assert np.abs(a[box[1]:box[3]] - b[box[1]:box[3]]).mean() < 1  # and not over the hook


def test_a_still_image_becomes_a_ken_burns_source(fresh_data_dir, samples):
    huey.immediate = True
    try:
        image = library.import_file(samples / "photos" / "astronaut.png", "image").id
        created = variant_jobs.create_variant_batch([image], [], [], 1,
                                                    {"still_duration_s": 3, "still_motion": "zoom_out"})
        from media import batches

        result = batches.batch_results(created["batch_id"])[0]
        assert result["status"] == "completed", result
        info = probe(result["file_path"])
        assert (info.width, info.height) == (1080, 1920) and abs(info.duration_s - 3.0) < 0.05
    finally:
        huey.immediate = False


def test_transcript_is_shown_corrected_and_exported(fresh_data_dir, samples):
    video = library.import_file(samples / "videos" / "retalking_face_2.mp4", "video").id
    assert video in [i for _, i in tab._media_choices()]
    rows, files, msg = tab._transcribe_ui(video)
    assert "English only" in msg and len(rows) > 5 and files[0].endswith(".srt")
    rows[0][0] = "FIXED"
    saved, files, _ = tab._save_transcript(video, rows)
    assert saved[0][0] == "FIXED" and saved[0][1] == rows[0][1]
    assert "FIXED" in Path(files[0]).read_text(encoding="utf-8")
    assert Path(files[1]).read_text(encoding="utf-8").startswith("WEBVTT")
