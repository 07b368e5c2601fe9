"""Word-by-word captions burnt into a variant (issue 11), drawn with the hook's Pillow text engine.

A caption track is a sequence of same-size transparent RGBA PNGs (the *caption band*) with a duration
each, written as an ffconcat list; FFmpeg's concat demuxer turns it into one overlay stream and a single
``overlay`` puts it on the video (:func:`media.ffmpeg_builder.captioned_render_args`). Styles:

- ``karaoke``: a line of a few words; the word being spoken is drawn in the highlight colour.
- ``pop``: 1-3 words at a time; the word being spoken is drawn 1.3x larger in the highlight colour.
- ``line``: whole sentence lines (up to two lines of text per cue).

Text goes through :mod:`media.text_render` (font fallback per grapheme cluster, bidi runs, Raqm shaping),
so every script the hooks support renders in captions. Words of a right-to-left paragraph are placed
right to left. The band sits inside the 9:16 safe zone (lower third by default) and is moved off the
hook's box. The PNGs and list are cached per (words, style, size, colours): variants that share a voice
share them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from media.errors import InvalidInput
from media.fonts import PRIMARY, load_font
from media.normalize import key_lock
from media.subtitles import group_words
from media.text_render import SAFE_ZONE, SafeZone, base_level, draw_run, layout_runs, line_width, parse_colour

CAPTION_RENDER_VERSION = "c2"  # bump when caption drawing changes: cached caption bands are keyed on it
POP_SCALE = 1.3
HOLD_S = 0.4  # a cue stays this long after its last word (unless the next cue starts earlier)
LINE_SPACING = 1.25
HOOK_MARGIN = 24  # pixels kept between the hook's box and the caption band


@dataclass(frozen=True)
class CaptionLook:
    """Style, font size (px) and colours of a caption track."""

    style: str = "karaoke"
    font_size: int = 64
    color: str = "#FFFFFF"
    highlight: str = "#FFD400"
    stroke: str = "#000000"

    def key(self) -> dict[str, Any]:
        return {"style": self.style, "size": self.font_size, "color": self.color, "highlight": self.highlight,
                "stroke": self.stroke}


@dataclass(frozen=True)
class CaptionFrame:
    """One band image shown from ``start_s`` to ``end_s``; ``active`` = index of the spoken word or None."""

    start_s: float
    end_s: float
    words: tuple[str, ...]
    active: int | None


@dataclass
class CaptionTrack:
    """A cached caption track: the ffconcat ``list_file``, band size (px) and timeline."""

    list_file: Path
    width: int
    height: int
    frames: list[CaptionFrame]


def band_size(look: CaptionLook, zone: SafeZone = SAFE_ZONE) -> tuple[int, int]:
    """(width, height) of the caption band in pixels: the safe width, two lines (pop: enlarged) high."""
    scale = POP_SCALE if look.style == "pop" else 1.0
    return zone.width, round(2 * look.font_size * scale * LINE_SPACING + _pad(look.font_size) * 2)


def _pad(size: int) -> int:
    return round(size * 0.3) + 4


def plan_frames(words: list[dict[str, Any]], style: str) -> list[CaptionFrame]:
    """The band images over time for ``words`` (``{"word", "start_s", "end_s"}``), in time order, not
    overlapping. A word's image starts at the word's ``start_s``. Raises InvalidInput for another style."""
    if style == "karaoke":
        cues = group_words(words, max_words=4, max_s=2.5)
    elif style == "pop":
        cues = group_words(words, max_words=3, max_s=1.5, pause_s=0.4)
    elif style == "line":
        cues = group_words(words, max_words=10, max_s=4.0)
    else:
        raise InvalidInput(f"caption_style must be karaoke, pop or line, not {style!r}")
    frames: list[CaptionFrame] = []
    for i, cue in enumerate(cues):
        stop = cue.end_s + HOLD_S
        if i + 1 < len(cues):
            stop = min(stop, cues[i + 1].start_s)
        texts = tuple(w["word"] for w in cue.words)
        if style == "line":
            frames.append(CaptionFrame(cue.start_s, max(stop, cue.start_s + 0.05), texts, None))
            continue
        for j, w in enumerate(cue.words):
            end = cue.words[j + 1]["start_s"] if j + 1 < len(cue.words) else stop
            frames.append(CaptionFrame(w["start_s"], max(end, w["start_s"] + 0.05), texts, j))
    return frames


def _rgba(value: str, key: str) -> tuple[int, int, int, int]:
    return (*parse_colour(value, key), 255)


def _word_width(word: str, size: int, level: int) -> float:
    return line_width(layout_runs(word, level), size)


def _lines(words: tuple[str, ...], sizes: list[int], width: int, level: int) -> list[list[int]]:
    """Word indices per line (greedy by drawn width; a word too wide stays alone on its line)."""
    lines: list[list[int]] = [[]]
    used = 0.0
    for i, word in enumerate(words):
        w = _word_width(word, sizes[i], level)
        space = _word_width(" ", sizes[i], 0) if lines[-1] else 0
        if lines[-1] and used + space + w > width:
            lines.append([])
            used, space = 0.0, 0
        lines[-1].append(i)
        used += space + w
    return lines


def draw_band(frame: CaptionFrame, look: CaptionLook, width: int, height: int) -> Image.Image:
    """The band image of one frame (RGBA ``width`` x ``height``; text centred, lines stacked)."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if not frame.words:
        return image
    draw = ImageDraw.Draw(image)
    base, hi, stroke = _rgba(look.color, "caption_color"), _rgba(look.highlight, "caption_highlight_color"), \
        _rgba(look.stroke, "caption_stroke_color")
    level = base_level(" ".join(frame.words))
    sizes = [round(look.font_size * POP_SCALE) if look.style == "pop" and i == frame.active else look.font_size
             for i in range(len(frame.words))]
    pad = _pad(look.font_size)
    size = look.font_size
    lines = _lines(frame.words, sizes, width - 2 * pad, level)
    while len(lines) > 2 and size > 20:  # too many words for two lines: shrink
        size = max(20, size - 6)
        sizes = [min(s, round(size * (POP_SCALE if s > look.font_size else 1))) for s in sizes]
        lines = _lines(frame.words, sizes, width - 2 * pad, level)
    line_h = round(max(sizes) * LINE_SPACING)
    top = (height - line_h * len(lines)) // 2
    for n, idx in enumerate(lines):
        order = idx[::-1] if level % 2 else idx
        widths = [_word_width(frame.words[i], sizes[i], level) for i in order]
        gaps = [_word_width(" ", sizes[i], 0) for i in order[1:]]
        total = sum(widths) + sum(gaps)
        x = (width - total) / 2
        ascent, descent = load_font(PRIMARY, max(sizes)).getmetrics()
        baseline = top + n * line_h + round((line_h - (ascent + descent)) / 2 + ascent)
        for k, i in enumerate(order):
            fill = hi if i == frame.active else base
            s = sizes[i]
            for run in layout_runs(frame.words[i], level):
                draw_run(draw, (x, baseline), run, s, fill, max(2, round(s * 0.08)), stroke)
                x += line_width([run], s)
            if k < len(gaps):
                x += gaps[k]
    return image


def track_key(words: list[dict[str, Any]], look: CaptionLook) -> str:
    """Cache key of a caption track: the words and times, the look, the band size, the drawing version."""
    blob = json.dumps([CAPTION_RENDER_VERSION, words, look.key(), band_size(look)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def build_track(words: list[dict[str, Any]], look: CaptionLook, cache_dir: Path) -> CaptionTrack:
    """The caption track of ``words`` (made once, cached under ``cache_dir/hooks/captions/<key>``)."""
    width, height = band_size(look)
    frames = plan_frames(words, look.style)
    key = track_key(words, look)
    folder = Path(cache_dir) / "hooks" / "captions" / key
    list_file = folder / "captions.ffconcat"
    with key_lock(f"captions-{key}"):
        if list_file.is_file():
            for p in folder.iterdir():
                os.utime(p)
            return CaptionTrack(list_file, width, height, frames)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=folder.parent))
        try:
            Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(tmp / "blank.png")
            entries: list[tuple[str, float]] = []
            t = 0.0
            for n, fr in enumerate(frames):
                if fr.start_s > t + 1e-3:
                    entries.append(("blank.png", fr.start_s - t))
                    t = fr.start_s
                name = f"c{n:05d}.png"
                draw_band(fr, look, width, height).save(tmp / name, optimize=False, compress_level=1)
                entries.append((name, fr.end_s - t))
                t = fr.end_s
            entries.append(("blank.png", 1.0))
            lines = ["ffconcat version 1.0"]
            for name, dur in entries:
                lines += [f"file '{name}'", f"duration {max(dur, 0.001):.3f}"]
            lines.append("file 'blank.png'")  # the concat demuxer ignores the last entry's duration
            (tmp / "captions.ffconcat").write_text("\n".join(lines) + "\n")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return CaptionTrack(list_file, width, height, frames)


def place_band(height: int, position: str, hook_box: tuple[int, int, int, int] | None,
               zone: SafeZone = SAFE_ZONE) -> tuple[int, int]:
    """(x, y) pixels of a band ``height`` px high at ``position`` (lower_third | center | upper_third) inside
    ``zone``, moved off ``hook_box`` (x0, y0, x1, y1) to the nearest place that fits. Raises InvalidInput
    when the hook leaves no room for the band."""
    x = zone.left
    lo, hi = zone.top, zone.top + zone.height - height
    if hi < lo:
        raise InvalidInput(f"caption_font_size too large: the caption band ({height} px) exceeds the safe zone")
    wanted = {"lower_third": hi, "center": (lo + hi) // 2, "upper_third": lo}.get(position)
    if wanted is None:
        raise InvalidInput(f"caption_position must be lower_third, center or upper_third, not {position!r}")
    if hook_box is None:
        return x, wanted
    top, bottom = hook_box[1] - HOOK_MARGIN, hook_box[3] + HOOK_MARGIN
    if wanted + height <= top or wanted >= bottom:
        return x, wanted
    options = [y for y in (top - height, bottom) if lo <= y <= hi]
    if not options:
        raise InvalidInput("the hook leaves no room for captions in the safe zone: use a shorter hook, a "
                           "smaller caption_font_size or another hook_position")
    return x, min(options, key=lambda y: abs(y - wanted))


__all__ = ["CAPTION_RENDER_VERSION", "CaptionFrame", "CaptionLook", "CaptionTrack", "band_size", "build_track",
           "draw_band", "place_band", "plan_frames", "track_key"]
