"""Timed words grouped into subtitle cues and written as SRT or WebVTT (issue 11).

Formats: SubRip (``1\\n00:00:01,000 --> 00:00:02,500\\ntext\\n``) and WebVTT (W3C WebVTT, a ``WEBVTT``
header, ``00:00:01.000 --> 00:00:02.500`` cue timings). Words are ``{"word", "start_s", "end_s"}`` dicts
in seconds, as :mod:`media.asr` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_CUE_WORDS = 7
MAX_CUE_S = 3.5
PAUSE_S = 0.6  # a silence this long starts a new cue
_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")


@dataclass(frozen=True)
class Cue:
    """Words shown together from ``start_s`` to ``end_s`` (seconds)."""

    start_s: float
    end_s: float
    words: tuple[dict[str, Any], ...]

    @property
    def text(self) -> str:
        return " ".join(w["word"] for w in self.words)


def group_words(words: list[dict[str, Any]], max_words: int = MAX_CUE_WORDS, max_s: float = MAX_CUE_S,
                pause_s: float = PAUSE_S) -> list[Cue]:
    """Cues of at most ``max_words`` words and ``max_s`` seconds, cut after a sentence end or a pause."""
    cues: list[Cue] = []
    cur: list[dict[str, Any]] = []
    for w in words:
        if cur and (len(cur) >= max_words or w["end_s"] - cur[0]["start_s"] > max_s
                    or w["start_s"] - cur[-1]["end_s"] >= pause_s or cur[-1]["word"].endswith(_SENTENCE_END)):
            cues.append(Cue(cur[0]["start_s"], cur[-1]["end_s"], tuple(cur)))
            cur = []
        cur.append(w)
    if cur:
        cues.append(Cue(cur[0]["start_s"], cur[-1]["end_s"], tuple(cur)))
    return cues


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _end(cue: Cue) -> float:
    return max(cue.end_s, cue.start_s + 0.05)  # a cue shows for at least 50 ms


def to_srt(words: list[dict[str, Any]]) -> str:
    """SubRip text of ``words`` (empty string for no words)."""
    blocks = [f"{i}\n{_stamp(c.start_s, ',')} --> {_stamp(_end(c), ',')}\n{c.text}\n"
              for i, c in enumerate(group_words(words), 1)]
    return "\n".join(blocks)


def to_vtt(words: list[dict[str, Any]]) -> str:
    """WebVTT text of ``words`` (just the header for no words)."""
    blocks = [f"{_stamp(c.start_s, '.')} --> {_stamp(_end(c), '.')}\n{c.text}\n" for c in group_words(words)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def shift_words(words: list[dict[str, Any]], offset_s: float, until_s: float | None = None,
                loop_s: float | None = None) -> list[dict[str, Any]]:
    """Words moved by ``offset_s`` seconds; with ``loop_s`` repeated every ``loop_s`` seconds (a looped
    track); words starting before 0 or at/after ``until_s`` are dropped, ends are clipped to ``until_s``."""
    out: list[dict[str, Any]] = []
    base = offset_s
    while True:
        for w in words:
            start, end = w["start_s"] + base, w["end_s"] + base
            if start < 0 or (until_s is not None and start >= until_s):
                continue
            if until_s is not None:
                end = min(end, until_s)
            out.append({"word": w["word"], "start_s": round(start, 3), "end_s": round(end, 3)})
        if not loop_s or loop_s <= 0.5 or until_s is None or base + loop_s >= until_s or not words:
            break
        base += loop_s
    return out
