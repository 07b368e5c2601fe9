"""Hook text rendering: every line of ../shared/samples/hooks.txt, fonts, bidi, wrapping, safe zone."""

from __future__ import annotations

import numpy as np
import pytest

from media import fonts
from media.canonical import HEIGHT, WIDTH
from media.text_render import SAFE_ZONE, TextStyle, layout_runs, line_width, render_hook, wrap_text


@pytest.fixture(scope="module")
def hooks(samples) -> list[str]:
    lines = (samples / "hooks.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30
    return lines


def _ink(image) -> np.ndarray:
    return np.asarray(image)[:, :, 3] > 0


def test_safe_zone_numbers():
    assert SAFE_ZONE.box == (120, 270, 960, 1248)
    assert (SAFE_ZONE.width, SAFE_ZONE.height) == (840, 978)


def test_every_hook_line_renders_without_tofu_inside_the_safe_zone(hooks):
    x0, y0, x1, y1 = SAFE_ZONE.box
    for i, line in enumerate(hooks):
        assert fonts.uncovered(line) == [], f"line {i + 1} has characters no font covers"
        position = ("top", "center", "bottom")[i % 3]
        hook = render_hook(line, TextStyle(box=i % 2 == 0), position)
        bx0, by0, bx1, by1 = hook.bbox
        assert x0 <= bx0 < bx1 <= x1 and y0 <= by0 < by1 <= y1, (i, position, hook.bbox)
        ink = _ink(hook.image)
        assert ink.mean() > 0.05, f"line {i + 1} drew almost nothing"
        drawn = "".join(run.text for ln in hook.lines for run in ln)
        for run in (r for ln in hook.lines for r in ln):
            missing = [c for c in run.text if not c.isspace() and ord(c) not in fonts.coverage(run.face)]
            assert not missing, f"line {i + 1}: {missing!r} not in {run.face.name}"
        # every non-space character of the hook is drawn (the 398-character hook fits without cutting)
        assert sorted(drawn.replace(" ", "")) == sorted(line.replace(" ", "")), f"line {i + 1}"


def test_scripts_pick_the_right_fonts(hooks):
    def faces(text):
        return {r.face.name for r in layout_runs(text)}
    assert faces("今日から始める、ショート動画") == {"cjk"}
    assert faces("أفضل ثلاث نصائح") == {"arabic"}
    assert "emoji" in faces("Wait 😳") and "sans" in faces("Wait 😳")
    assert faces("C:\\Users\\x %\"'") == {"sans"}


def test_emoji_sequences_stay_one_cluster():
    zombie = "🧟\u200d♂️"
    assert fonts.grapheme_clusters("a " + zombie + "🇯🇵🇫🇷") == ["a", " ", zombie, "🇯🇵", "🇫🇷"]
    runs = layout_runs("3 a.m.: " + zombie)
    assert runs[-1].text == zombie and runs[-1].face.name == "emoji"
    # the ZWJ sequence is shaped into fewer glyphs than its parts drawn side by side
    font = fonts.load_font(fonts.EMOJI, 64)
    assert font.getlength(zombie) < font.getlength("🧟") + font.getlength("♂️") - 10


def test_arabic_is_right_to_left_and_shaped():
    runs = layout_runs("أفضل ثلاث نصائح 🔥", paragraph_level=1)
    # RTL paragraph: the emoji at the logical end is drawn first (leftmost)
    assert runs[0].face.name == "emoji" and runs[-1].face.name == "arabic" and runs[-1].rtl
    font = fonts.load_font(fonts.FALLBACK_CHAIN[1], 64)
    word = "ثلاث"
    shaped = font.getlength(word, direction="rtl")
    isolated = sum(font.getlength(c, direction="rtl") for c in word)
    assert shaped < isolated  # joined forms are narrower than isolated letters


def test_mixed_direction_line_orders_runs_visually():
    runs = layout_runs("Top tip: أفضل ثلاث end", paragraph_level=0)
    texts = [r.text.strip() for r in runs if r.text.strip()]
    assert texts[0].startswith("Top tip") and texts[-1] == "end"
    assert any(r.rtl and r.face.name == "arabic" for r in runs)


def test_wrap_fits_width_and_breaks_cjk():
    lines, split = wrap_text("今日から始める、ショート動画のコツ3選", 72, 500)
    assert len(lines) > 1 and not split
    assert all(line_width(layout_runs(ln), 72) <= 500 for ln in lines)
    lines, split = wrap_text("C:\\Users\\creator\\Videos\\final_v2.mp4", 72, 400)
    assert split and all(line_width(layout_runs(ln), 72) <= 400 for ln in lines)


def test_long_hook_auto_fits_smaller_than_short_hook(hooks):
    long_hook = max(hooks, key=len)
    assert len(long_hook) == 398
    assert render_hook(long_hook).font_size < render_hook("Wait for the end 😳").font_size


def test_positions_and_style():
    top = render_hook("Stop scrolling.", TextStyle(), "top")
    bottom = render_hook("Stop scrolling.", TextStyle(), "bottom")
    center = render_hook("Stop scrolling.", TextStyle(), "center")
    assert top.y == SAFE_ZONE.top and bottom.bbox[3] == SAFE_ZONE.top + SAFE_ZONE.height
    assert top.y < center.y < bottom.y
    boxed = render_hook("Stop scrolling.", TextStyle(box=True, box_opacity=0.5, box_color="#102030"))
    corner = np.asarray(boxed.image)[boxed.image.height // 2, 3]
    assert tuple(corner) == (0x10, 0x20, 0x30, 128)
    plain = render_hook("Stop scrolling.", TextStyle(color="#FF0000"))
    px = np.asarray(plain.image).reshape(-1, 4)
    assert ((px[:, 0] == 255) & (px[:, 1] == 0) & (px[:, 3] == 255)).sum() > 1000  # red fill
    assert render_hook("Stop scrolling.", TextStyle(font_size=40)).font_size == 40


def test_bad_text_and_colour_raise():
    with pytest.raises(ValueError, match="empty"):
        render_hook("   ")
    with pytest.raises(ValueError, match="text_color"):
        render_hook("hi", TextStyle(color="not-a-colour"))


def test_frame_constants():
    assert (WIDTH, HEIGHT) == (1080, 1920)


# UAX #14 classes NS (nonstarters: ー, small kana, 々) and CL (closing punctuation: 、。」) never start a line.
NO_LINE_START = set("ーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ々、。」）！？")


def test_japanese_never_breaks_before_the_long_vowel_mark_or_small_kana():
    text = "今日から始める、ショート動画のコツ3選 コーヒーを飲みながらチェックしよう"
    for width in range(260, 841, 20):
        lines, split = wrap_text(text, 72, width)
        assert not split, width
        starts = [ln[0] for ln in lines]
        assert not NO_LINE_START & set(starts), (width, lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_cjk_font_is_bold_like_the_latin_text():
    from fontTools.ttLib import TTFont

    cjk = next(f for f in fonts.FALLBACK_CHAIN if f.name == "cjk")
    assert TTFont(str(cjk.path), lazy=True)["OS/2"].usWeightClass >= 700
    assert fonts.HOOK_WEIGHT >= 700  # the Latin (variable) fonts are drawn at this weight


@pytest.mark.parametrize("size", [28, 48, 72])
def test_flags_and_emoji_are_drawn_in_colour(size):
    hook = render_hook("Tokyo 🇯🇵 Paris 🇫🇷 😳", TextStyle(font_size=size))
    assert any(r.face.color for ln in hook.lines for r in ln)
    px = np.asarray(hook.image).reshape(-1, 4).astype(int)
    opaque = px[px[:, 3] > 200]
    red = (opaque[:, 0] > 170) & (opaque[:, 1] < 90) & (opaque[:, 2] < 90)  # the flags' red
    blue = (opaque[:, 2] > 120) & (opaque[:, 0] < 90)  # the French flag's blue
    assert red.sum() > size and blue.sum() > size // 2, (red.sum(), blue.sum())
