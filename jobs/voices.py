"""Which voice a variant speaks and which words its captions show (issue 11), for the render task.

The words captioned are the variant's final voice: the voice-over when there is one; else the source's
own speech (audio ``keep`` or ``mix``, or ``replace`` without a track); else the replacement track (its
words, looped with it; a music track without speech gives none). ``captions: script`` shows the
voice-over's text with the timings of its transcription (words matched with difflib).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from media import asr, store, tts
from media.audio_mix import Voice
from media.errors import InvalidInput
from media.models import AudioFile, Video
from media.probe import probe
from media.subtitles import shift_words
from media.variant_options import VariantOptions


def voiceover_text(options: VariantOptions, hook_text: str | None, script: str | None) -> str | None:
    """The text the voice-over speaks (None when there is none). Raises InvalidInput when it needs a
    hook or a script the variant does not have."""
    if options.voiceover == "off":
        return None
    text = (hook_text if options.voiceover == "hook" else script) or ""
    if not text.strip():
        raise InvalidInput(f"voiceover {options.voiceover!r}: this variant has no "
                           f"{'hook' if options.voiceover == 'hook' else 'script'} to speak")
    return text


def voice_for(options: VariantOptions, hook_text: str | None, script: str | None, cache: Path) -> Voice | None:
    """The synthesised voice-over placed on the timeline (starts with the hook unless ``voice_start_s``)."""
    text = voiceover_text(options, hook_text, script)
    if text is None:
        return None
    path = tts.synthesize(text, options.voice, Path(cache) / "audio" / "voices", options.voice_speed)  # pruned
    start = options.voice_start_s if options.voice_start_s is not None else options.hook_start_s
    return Voice(path=path, start_s=start, gain_db=options.voice_gain_db)


def _norm(word: str) -> str:
    return re.sub(r"[^\w']+", "", word.lower())


def align_script(script: str, heard: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The script's words timed by the transcription ``heard``: matched words take the heard timing,
    the others are spread between their matched neighbours. Empty when nothing was heard."""
    words = script.split()
    if not words or not heard:
        return []
    matcher = difflib.SequenceMatcher(a=[_norm(w) for w in words], b=[_norm(w["word"]) for w in heard],
                                      autojunk=False)
    times: list[tuple[float, float] | None] = [None] * len(words)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                times[i1 + k] = (heard[j1 + k]["start_s"], heard[j1 + k]["end_s"])
        elif tag == "replace":  # n script words heard as m words: share that span
            start, end = heard[j1]["start_s"], heard[j2 - 1]["end_s"]
            step = (end - start) / (i2 - i1)
            for k in range(i2 - i1):
                times[i1 + k] = (start + k * step, start + (k + 1) * step)
    last_end, out = heard[0]["start_s"], []
    for i, w in enumerate(words):
        if times[i] is None:
            nxt = next((t[0] for t in times[i + 1:] if t is not None), heard[-1]["end_s"])
            times[i] = (last_end, max(last_end, min(nxt, last_end + 0.3)))
        start = max(last_end if out else times[i][0], times[i][0])
        out.append({"word": w, "start_s": round(start, 3), "end_s": round(max(start, times[i][1]), 3)})
        last_end = out[-1]["end_s"]
    return out


def caption_words(options: VariantOptions, video: Video, audio: AudioFile | None, voice: Voice | None,
                  duration_s: float, hook_text: str | None, script: str | None) -> list[dict[str, Any]]:
    """Words on the variant's timeline (seconds from its first frame) for its captions; [] when off."""
    if options.captions == "off":
        return []
    if options.captions == "script":
        if voice is None:
            raise InvalidInput("captions 'script' shows the voice-over's words: set voiceover to hook or script")
        heard = asr.transcribe_path(voice.path).words
        text = voiceover_text(options, hook_text, script) or ""
        return shift_words(align_script(text, heard), voice.start_s, duration_s)
    if voice is not None:
        return shift_words(asr.transcribe_path(voice.path).words, voice.start_s, duration_s)
    source = store.abs_path(video.file)
    uses_original = options.audio_mode in ("keep", "mix") or audio is None
    if uses_original and video.has_audio:
        info = probe(source, check_decode=False)
        offset = info.audio_start_s - info.video_start_s
        return shift_words(asr.transcribe_media(video.id).words, offset, duration_s)
    if audio is not None:
        length = audio.duration_s or None
        return shift_words(asr.transcribe_media(audio.id).words, 0.0, duration_s, loop_s=length)
    return []
