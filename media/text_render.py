"""Hook text rendered with Pillow into a transparent RGBA image placed inside the 9:16 safe zone.

The image is overlaid by FFmpeg's ``overlay`` filter, so hook text never goes through FFmpeg's
filter-string escaping (quotes, colons, ``%`` and backslashes are just pixels here).

Layout: the text is wrapped greedily at the line-break opportunities of the Unicode Line Breaking
Algorithm (UAX #14, from the ``uniseg`` package; a word too long for a line is cut between grapheme
clusters); each line is split into runs by font coverage (:mod:`media.fonts`) and by bidi
embedding level (Unicode Bidirectional Algorithm rules P2-I2 from ``python-bidi``), runs are put in
visual order (rule L2) and each run is drawn by Pillow's Raqm layout (HarfBuzz shaping, so Arabic is
joined and right-to-left runs are drawn right to left). Colour emoji runs are drawn with
``embedded_color=True`` and no stroke (the emoji font draws its own outline).

Safe zone (pixels of the 1080x1920 frame): Meta's Reels guidance keeps text clear of the top 14 %
(270 px: status bar, tabs) and bottom 35 % (672 px: caption, audio ticker, buttons); TikTok's guidance
is to avoid the right-hand button column and the lower 20 %. We use top 270, bottom 672 and 120 px on
both sides (TikTok's action column is about that wide; symmetric so centred text stays centred). The
figures are those published in the Meta Business Help Center / TikTok Creative Center, as compiled at
https://houseofmarketers.com/guide-to-safe-zones-tiktok-facebook-instagram-stories-reels/ .
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from bidi import algorithm as uba
from PIL import Image, ImageColor, ImageDraw, ImageFont
from uniseg import linebreak

from media import canonical
from media.fonts import PRIMARY, FontFace, grapheme_clusters, load_font, pick_face

HookPosition = Literal["top", "center", "bottom"]


@dataclass(frozen=True)
class SafeZone:
    """Margins (pixels) of the 1080x1920 frame that hook text keeps clear of."""

    left: int = 120
    top: int = 270
    right: int = 120
    bottom: int = 672

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the area text may use."""
        return self.left, self.top, canonical.WIDTH - self.right, canonical.HEIGHT - self.bottom

    @property
    def width(self) -> int:
        return canonical.WIDTH - self.left - self.right

    @property
    def height(self) -> int:
        return canonical.HEIGHT - self.top - self.bottom


SAFE_ZONE = SafeZone()
MAX_FONT_SIZE = 72
MIN_FONT_SIZE = 28
FIT_HEIGHT_SHARE = 0.4  # auto-fit keeps the text block within this share of the safe-zone height
LINE_SPACING = 1.3


@dataclass(frozen=True)
class TextStyle:
    """Look of the hook text. ``font_size`` None = largest size (<= 72 px) that fits the safe width;
    ``stroke_width`` None = about 8 % of the font size; colours are CSS-style (``#RRGGBB``, names)."""

    font_size: int | None = None
    color: str = "#FFFFFF"
    stroke_color: str = "#000000"
    stroke_width: int | None = None
    box: bool = False
    box_color: str = "#000000"
    box_opacity: float = 0.6


@dataclass(frozen=True)
class Run:
    """Characters drawn in one call: one font, one direction (``rtl``), in visual order."""

    text: str
    face: FontFace
    rtl: bool


@dataclass
class HookImage:
    """The rendered hook: an RGBA image and where its top-left corner goes in the 1080x1920 frame."""

    image: Image.Image
    x: int
    y: int
    font_size: int
    lines: list[list[Run]] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in frame pixels."""
        return self.x, self.y, self.x + self.image.width, self.y + self.image.height


def _is_cjk(cluster: str) -> bool:
    cp = ord(cluster[0])
    return (0x3000 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0xFF00 <= cp <= 0xFFEF
            or 0x20000 <= cp <= 0x2FFFF or 0xAC00 <= cp <= 0xD7AF)


def _bidi_levels(text: str, base_level: int) -> list[int]:
    """Resolved embedding level of every code point (UBA up to I2; BN/explicit marks made neutral)."""
    neutral = {"BN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
    safe = "".join("\ufffc" if unicodedata.bidirectional(c) in neutral else c for c in text)
    storage = uba.get_empty_storage()
    storage["base_level"] = base_level
    storage["base_dir"] = ("L", "R")[base_level]
    uba.get_embedding_levels(safe, storage)
    uba.explicit_embed_and_overrides(storage)
    uba.resolve_weak_types(storage)
    uba.resolve_neutral_types(storage, False)
    uba.resolve_implicit_levels(storage, False)
    return [c["level"] for c in storage["chars"]]


def base_level(text: str) -> int:
    """Paragraph direction from the first strong character: 0 left-to-right, 1 right-to-left."""
    return uba.get_base_level(text)


def layout_runs(line: str, paragraph_level: int = 0) -> list[Run]:
    """Runs of one line in visual (left-to-right drawing) order."""
    clusters = grapheme_clusters(line)
    if not clusters:
        return []
    levels = _bidi_levels(line, paragraph_level)
    items: list[tuple[str, FontFace, int]] = []
    pos = 0
    face: FontFace | None = None
    for cl in clusters:
        face = pick_face(cl, face) or PRIMARY
        items.append((cl, face, levels[pos]))
        pos += len(cl)
    groups: list[list] = []
    for cl, f, lvl in items:
        if groups and groups[-1][1] == f and groups[-1][2] == lvl:
            groups[-1][0] += cl
        else:
            groups.append([cl, f, lvl])
    top = max(g[2] for g in groups)
    lowest_odd = min((g[2] for g in groups if g[2] % 2), default=top + 1)
    for level in range(top, lowest_odd - 1, -1):  # rule L2, at run granularity
        i = 0
        while i < len(groups):
            if groups[i][2] >= level:
                j = i
                while j < len(groups) and groups[j][2] >= level:
                    j += 1
                groups[i:j] = groups[i:j][::-1]
                i = j
            else:
                i += 1
    return [Run(text=t, face=f, rtl=bool(lvl % 2)) for t, f, lvl in groups]


def _run_width(run: Run, size: int) -> float:
    return load_font(run.face, size).getlength(run.text, direction="rtl" if run.rtl else "ltr")


def line_width(runs: list[Run], size: int) -> float:
    """Drawn width in pixels of a laid-out line."""
    return sum(_run_width(r, size) for r in runs)


@lru_cache(maxsize=256)
def _break_units(text: str) -> tuple[str, ...]:
    """Pieces between line-break opportunities of the Unicode Line Breaking Algorithm (UAX #14, via
    ``uniseg``); each keeps its trailing spaces. Japanese keeps ``ー``, small kana and closing
    punctuation with the character before them; Latin breaks after spaces and hyphens."""
    return tuple(linebreak.line_break_units(text))


def _split_long(piece: str, size: int, width: int, level: int) -> list[str]:
    """Break a piece wider than the line at grapheme boundaries."""
    parts, buf = [], ""
    for cl in grapheme_clusters(piece):
        if buf and line_width(layout_runs(buf + cl, level), size) > width:
            parts.append(buf)
            buf = cl
        else:
            buf += cl
    return parts + [buf] if buf else parts


def wrap_text(text: str, size: int, width: int) -> tuple[list[str], bool]:
    """Greedy wrap to ``width`` pixels at ``size``, breaking only where UAX #14 allows; returns
    (lines, a_word_had_to_be_split): a piece wider than the line is cut at grapheme boundaries."""
    level = base_level(text)
    lines: list[str] = []
    cur = ""
    split_word = False
    for piece in _break_units(" ".join(text.split())):
        candidate = cur + piece
        if cur and line_width(layout_runs(candidate.rstrip(), level), size) > width:
            lines.append(cur.rstrip())
            candidate = piece
        if line_width(layout_runs(candidate.rstrip(), level), size) > width:
            parts = _split_long(piece.rstrip(), size, width, level)
            split_word = split_word or not all(_is_cjk(c) for c in piece.strip())
            lines.extend(parts[:-1])
            candidate = parts[-1] + piece[len(piece.rstrip()):]
        cur = candidate
    if cur.strip():
        lines.append(cur.rstrip())
    return lines, split_word


def _line_height(size: int) -> int:
    return round(size * LINE_SPACING)


def _block_height(n_lines: int, size: int) -> int:
    return n_lines * _line_height(size)


def fit_font_size(text: str, zone: SafeZone = SAFE_ZONE) -> tuple[int, list[str]]:
    """Largest size in [MIN_FONT_SIZE, MAX_FONT_SIZE] whose wrap fits the safe width without splitting
    words and stays within :data:`FIT_HEIGHT_SHARE` of the safe height; MIN_FONT_SIZE otherwise."""
    usable = zone.width - 2 * _padding(MAX_FONT_SIZE)
    max_h = zone.height * FIT_HEIGHT_SHARE
    for size in range(MAX_FONT_SIZE, MIN_FONT_SIZE - 1, -4):
        lines, split = wrap_text(text, size, usable)
        if not split and _block_height(len(lines), size) <= max_h:
            return size, lines
    return MIN_FONT_SIZE, wrap_text(text, MIN_FONT_SIZE, usable)[0]


def _padding(size: int) -> int:
    """Room around the text for the stroke and the box (pixels)."""
    return round(size * 0.35) + 4


def _stroke(style: TextStyle, size: int) -> int:
    return style.stroke_width if style.stroke_width is not None else max(2, round(size * 0.08))


def _truncate(lines: list[str], size: int, zone: SafeZone) -> list[str]:
    """Drop lines that would leave the safe zone; the last kept line ends with an ellipsis."""
    pad = _padding(size)
    max_lines = max(1, (zone.height - 2 * pad) // _line_height(size))
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = kept[-1].rstrip(" .,") + "…"
    return kept


def render_hook(text: str, style: TextStyle = TextStyle(), position: HookPosition = "top",
                zone: SafeZone = SAFE_ZONE) -> HookImage:
    """Render ``text`` to an RGBA image placed inside ``zone`` at ``position``.

    Raises ValueError for empty text or an unusable colour. The image never leaves the safe zone:
    auto-fit shrinks the text, a fixed ``font_size`` that cannot fit is reduced, and text taller than
    the zone at the smallest size is cut with an ellipsis.
    """
    if not text or not text.strip():
        raise ValueError("hook text is empty")
    fill, stroke_fill, box_fill = _colours(style)
    if style.font_size is None:
        size, lines = fit_font_size(text, zone)
    else:
        size = max(MIN_FONT_SIZE, min(int(style.font_size), zone.width // 2))
        lines, _ = wrap_text(text, size, zone.width - 2 * _padding(size))
    lines = _truncate(lines, size, zone)
    level = base_level(text)
    laid = [layout_runs(line, level) for line in lines]
    widths = [line_width(r, size) for r in laid]
    pad = _padding(size)
    img_w = min(zone.width, int(max(widths)) + 2 * pad)
    img_h = min(zone.height, _block_height(len(lines), size) + 2 * pad)
    image = Image.new("RGBA", (img_w, img_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if style.box:
        draw.rounded_rectangle((0, 0, img_w - 1, img_h - 1), radius=pad, fill=box_fill)
    stroke = _stroke(style, size)
    ascent = _ascent(size)
    for i, (runs, width) in enumerate(zip(laid, widths)):
        x = (img_w - width) / 2
        baseline = pad + i * _line_height(size) + ascent
        for run in runs:
            draw_run(draw, (x, baseline), run, size, fill, stroke, stroke_fill)
            x += _run_width(run, size)
    return HookImage(image=image, x=_place_x(img_w, zone), y=_place_y(img_h, position, zone),
                     font_size=size, lines=laid)


def draw_run(draw: ImageDraw.ImageDraw, xy: tuple[float, float], run: Run, size: int, fill: tuple,
             stroke: int, stroke_fill: tuple) -> None:
    """Draw one run with its left end of baseline at ``xy`` (pixels). Colour-font runs (emoji) are drawn
    in their own colours (``embedded_color``) without the text stroke, which would cover them."""
    font = load_font(run.face, size)
    direction = "rtl" if run.rtl else "ltr"
    if run.face.color:
        draw.text(xy, run.text, font=font, anchor="ls", direction=direction, embedded_color=True)
    else:
        draw.text(xy, run.text, font=font, fill=fill, anchor="ls", direction=direction,
                  stroke_width=stroke, stroke_fill=stroke_fill)


def _ascent(size: int) -> int:
    """Baseline offset inside a line: centres the primary font's ascent/descent in the line height."""
    ascent, descent = load_font(PRIMARY, size).getmetrics()
    return round((_line_height(size) - (ascent + descent)) / 2 + ascent)


def _place_x(width: int, zone: SafeZone) -> int:
    return zone.left + (zone.width - width) // 2


def _place_y(height: int, position: HookPosition, zone: SafeZone) -> int:
    if position == "top":
        return zone.top
    if position == "bottom":
        return zone.top + zone.height - height
    if position == "center":
        return zone.top + (zone.height - height) // 2
    raise ValueError(f"hook position must be top, center or bottom, not {position!r}")


def parse_colour(value: str, key: str = "colour") -> tuple[int, int, int]:
    """RGB of a CSS-style colour; raises ValueError naming ``key`` and the value."""
    try:
        rgb = ImageColor.getrgb(str(value))
    except ValueError as exc:
        raise ValueError(f"{key}: not a colour: {value!r}") from exc
    return rgb[:3]


def _colours(style: TextStyle) -> tuple[tuple, tuple, tuple]:
    fill = (*parse_colour(style.color, "text_color"), 255)
    stroke = (*parse_colour(style.stroke_color, "stroke_color"), 255)
    alpha = round(max(0.0, min(1.0, style.box_opacity)) * 255)
    box = (*parse_colour(style.box_color, "box_color"), alpha)
    return fill, stroke, box


def font_for_drawtext() -> str:
    """Path of the primary font (used by the naive drawtext baseline, which has no fallback)."""
    return str(PRIMARY.path)


__all__ = [
    "SAFE_ZONE",
    "HookImage",
    "HookPosition",
    "ImageFont",
    "Run",
    "SafeZone",
    "TextStyle",
    "draw_run",
    "fit_font_size",
    "layout_runs",
    "parse_colour",
    "render_hook",
    "wrap_text",
]
