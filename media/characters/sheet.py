"""The offline character reference sheet: photo, aligned face close-up, palette, name and date.

Layout (pixels, on a ``SHEET_SIZE`` canvas): a header with the name and date; the photo fitted in the
left panel; the close-up in the middle panel with the creator's notes under it; the palette on the
right. Fonts: Noto Sans from the ``manimgx-fonts`` wheel, Noto Sans CJK JP from
``noto-cjk-sans-jp-regular`` for CJK names, Noto Sans Arabic for Arabic (Pillow shapes with raqm).
"""

from __future__ import annotations

import importlib.util
import textwrap
from datetime import date
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from media.characters.palette import Swatch

SHEET_SIZE = (1800, 1040)
BACKGROUND = (248, 247, 244)
INK = (34, 34, 38)
MUTED = (110, 110, 118)
RULE = (214, 212, 206)
PHOTO_BOX = (60, 200, 700, 780)  # x, y, w, h
CLOSEUP_BOX = (820, 200, 600, 600)
NOTES_BOX = (820, 830, 600, 150)
PALETTE_BOX = (1480, 200, 260, 780)
SUBTITLE = "Reference sheet composed from one photo: no views were invented"


def _package_file(package: str, name: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / name
    return path if path.is_file() else None


def _font_file(text: str) -> Path | None:
    """The font file whose script covers ``text`` (Latin, CJK or Arabic)."""
    if any(0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF or 0xFF00 <= ord(ch) <= 0xFFEF
           for ch in text):
        return _package_file("noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf")
    if any(0x0600 <= ord(ch) <= 0x06FF for ch in text):
        return _package_file("manimgx_fonts", "NotoSansArabic[wght].ttf")
    return _package_file("manimgx_fonts", "NotoSans[wght].ttf")


@lru_cache(maxsize=32)
def _load_font(path: str | None, size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size)
    font = ImageFont.truetype(path, size)
    if bold:
        try:
            font.set_variation_by_name("Bold")
        except (OSError, ValueError):  # not a variable font: keep the regular weight
            pass
    return font


def font_for(text: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of ``size`` pixels able to draw ``text`` (Pillow's default font if none is installed)."""
    path = _font_file(text)
    return _load_font(str(path) if path else None, size, bold)


def fit_into(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` scaled (Lanczos) to fit inside ``width`` x ``height``, aspect ratio kept."""
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _label(draw: ImageDraw.ImageDraw, x: int, y: int, text: str) -> None:
    draw.text((x, y - 34), text, fill=MUTED, font=font_for(text, 22, bold=True))


def _draw_palette(draw: ImageDraw.ImageDraw, swatches: list[Swatch]) -> None:
    """The measured swatches, top to bottom; one the photo does not show is left out, not guessed."""
    x, y, w, _ = PALETTE_BOX
    for index, swatch in enumerate(s for s in swatches if s.rgb is not None):
        top = y + index * 250
        draw.rounded_rectangle((x, top, x + w, top + 170), radius=14, fill=swatch.rgb, outline=RULE)
        draw.text((x, top + 180), swatch.label.capitalize(), fill=INK, font=font_for(swatch.label, 26, True))
        draw.text((x + w, top + 184), swatch.hex, fill=MUTED, font=font_for(swatch.hex, 22), anchor="ra")


def compose_sheet(photo: Image.Image, closeup: Image.Image, swatches: list[Swatch], name: str,
                  made_on: date, notes: str = "") -> Image.Image:
    """Lay out one RGB sheet of ``SHEET_SIZE`` pixels from the given parts (see the module docstring)."""
    sheet = Image.new("RGB", SHEET_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((60, 36), name, fill=INK, font=font_for(name, 56, bold=True))
    stamp = made_on.isoformat()
    draw.text((SHEET_SIZE[0] - 60, 50), stamp, fill=MUTED, font=font_for(stamp, 30), anchor="ra")
    draw.text((60, 108), SUBTITLE, fill=MUTED, font=font_for(SUBTITLE, 22))
    draw.line((60, 150, SHEET_SIZE[0] - 60, 150), fill=RULE, width=2)

    px, py, pw, ph = PHOTO_BOX
    fitted = fit_into(photo.convert("RGB"), pw, ph)
    sheet.paste(fitted, (px + (pw - fitted.width) // 2, py))
    _label(draw, px, py, "PHOTO")

    cx, cy, cw, ch = CLOSEUP_BOX
    sheet.paste(closeup.convert("RGB").resize((cw, ch), Image.Resampling.LANCZOS), (cx, cy))
    _label(draw, cx, cy, "FACE CLOSE-UP (ALIGNED)")

    nx, ny, _, _ = NOTES_BOX
    if notes.strip():
        lines = textwrap.wrap(" ".join(notes.split()), width=52)[:4]
        body = font_for(notes, 24)
        for index, line in enumerate(lines):
            draw.text((nx, ny + index * 34), line, fill=INK, font=body)

    _label(draw, PALETTE_BOX[0], PALETTE_BOX[1], "PALETTE")
    _draw_palette(draw, swatches)
    return sheet
