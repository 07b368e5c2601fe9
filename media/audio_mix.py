"""A variant's final audio: voice (source speech or voice-over) over a ducked bed, loudness-normalised
(issue 11).

- Ducking: the bed (music) goes through ``sidechaincompress`` keyed by the voice (attack 20 ms, release
  400 ms, ratio 20). The threshold sits 30 dB under the voice's measured loudness, so speech drives the
  compressor about 28 dB deep (quieter syllables still > 15 dB); the compressor's dry/wet ``mix`` is set so the bed drops by about
  ``duck_db`` while the voice speaks (g = 10^(-duck/20) = mix * w + (1 - mix), w the wet gain).
- Loudness (EBU R128): the finished mix is measured once with FFmpeg's ``ebur128`` filter (integrated
  loudness, true peak) and one linear gain reaches the target integrated loudness (default -14 LUFS, the
  level TikTok, Reels and YouTube Shorts play at) when the true peak stays at most ``TRUE_PEAK_DB``
  (-1.5 dBTP, leaving 0.5 dB for the AAC encode under -1 dBTP); when it would not, a lookahead limiter
  (``alimiter``, :data:`LIMITER_MARGIN_DB` under it) holds the peaks, or for more than
  :data:`MAX_LIMITED_DB` of them ``loudnorm`` normalises dynamically (with these measurements). Each voice/track's own loudness is measured once per file (cached by
  content) to place the ducking threshold.

Results are cached under ``<cache_root>/audio/`` by every input that changes them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from media import ffmpeg_builder as fb
from media.canonical import FPS
from media.ffmpeg_run import FFmpegError, ffmpeg_exe, run_ffmpeg
from media.normalize import NormalizedVideo, content_digest, key_lock, synced_audio

MIX_VERSION = "m2"  # bump when the mix changes: cached tracks are keyed on it
TRUE_PEAK_DB = -1.5  # loudnorm target; the AAC encode can add a few tenths of a dB
TRUE_PEAK_LIMIT_DB = -1.0  # what the output must respect
# Peaks up to MAX_LIMITED_DB over TRUE_PEAK_DB after the gain are held by a sample-peak limiter set
# LIMITER_MARGIN_DB lower (inter-sample peaks overshoot a sample-peak limiter by a few tenths of a dB:
# measured -2.4 dBTP after AAC for a -2.5 dBFS limit); more than that goes through loudnorm.
MAX_LIMITED_DB = 6.0
LIMITER_MARGIN_DB = 1.0
DUCK_DEPTH_DB = 30.0  # threshold under the voice's loudness: how deep speech drives the compressor
SILENCE_LUFS = -70.0  # below this a track is treated as silent (not normalised)


@dataclass(frozen=True)
class Voice:
    """A voice placed on the variant's timeline: ``path`` from ``start_s`` seconds, ``gain_db`` dB."""

    path: Path
    start_s: float = 0.0
    gain_db: float = 0.0


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of a track: integrated loudness and its gating threshold (LUFS), loudness range
    (LU), true peak (dBTP); ``-inf`` where FFmpeg prints it (silence)."""

    integrated_lufs: float
    threshold_lufs: float
    lra_lu: float
    true_peak_db: float

    def as_loudnorm(self) -> dict[str, str]:
        """The ``measured_*`` values of ``loudnorm``'s second pass (its pass-1 JSON names)."""
        return {"input_i": f"{self.integrated_lufs:.2f}", "input_tp": f"{self.true_peak_db:.2f}",
                "input_lra": f"{self.lra_lu:.2f}", "input_thresh": f"{self.threshold_lufs:.2f}",
                "target_offset": "0.00"}


def ebur128(path: Path) -> Loudness:
    """EBU R128 measurement of ``path``'s first audio stream with FFmpeg's ``ebur128`` filter (true
    peak 4x oversampled), a tenth of the CPU of ``loudnorm``'s pass 1. Raises FFmpegError."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "info", "-nostats", *fb.ebur128_args(Path(path))]
    proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):] if "Summary:" in proc.stderr else ""
    number = r"\s*(-?[\d.]+|-inf)"
    found = [re.search(label + number + unit, summary) for label, unit in
             (("I:", " LUFS"), ("Threshold:", " LUFS"), ("LRA:", " LU"), ("Peak:", " dBFS"))]
    if proc.returncode != 0 or not all(found):
        raise FFmpegError(f"ffmpeg failed while measuring loudness of {Path(path).name}: "
                          f"{proc.stderr.strip().splitlines()[-1:] or 'no output'}")
    return Loudness(*(_finite(m.group(1)) for m in found))


def loudness_of(path: Path, cache_dir: Path) -> float:
    """Integrated loudness (LUFS) of a file, measured once per file content (cached in ``cache_dir``)."""
    digest = content_digest(Path(path))
    cache = Path(cache_dir) / "loudness" / f"{digest[:32]}.json"
    if cache.is_file():
        os.utime(cache)
        return float(json.loads(cache.read_text())["input_i"])
    measured = ebur128(Path(path))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"input_i": measured.integrated_lufs, "input_tp": measured.true_peak_db}))
    return measured.integrated_lufs


def _finite(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        return -math.inf
    return number if math.isfinite(number) else -math.inf


def duck_parameters(voice_lufs: float, duck_db: float) -> tuple[float, float] | None:
    """(threshold 0..1, dry/wet mix 0..1) of sidechaincompress for ``duck_db`` dB of ducking under a voice
    of ``voice_lufs``; None when ``duck_db`` is 0 or the voice is silent."""
    if duck_db <= 0 or voice_lufs <= SILENCE_LUFS:
        return None
    threshold = min(1.0, max(0.000977, 10 ** ((voice_lufs - DUCK_DEPTH_DB) / 20)))
    wet = 10 ** (-(DUCK_DEPTH_DB * (1 - 1 / fb.DUCK_RATIO)) / 20)
    target = 10 ** (-duck_db / 20)
    return threshold, max(0.0, min(1.0, (1 - target) / (1 - wet)))


def plan(norm: NormalizedVideo, track: Path | None, mode: str, voice: Voice | None) -> dict:
    """What the mix uses: ``{speech, speech_offset, speech_gain, bed, bed_loop, bed_gain}`` (paths or None).

    Without a voice-over: ``replace`` = the track alone (none: the original); ``mix`` = the original voice
    over the track at :data:`media.ffmpeg_builder.MIX_TRACK_GAIN` (no original: the track); ``keep`` = the
    original. With a voice-over it is the speech, over the track (replace/mix) or the original (keep; or
    when there is no track).
    """
    original = norm.has_audio  # extracted from the source only where it is used (synced_audio)
    speech = bed = None
    bed_loop, bed_gain = False, 1.0
    if voice is not None:
        speech = voice.path
        if track is not None and mode in ("replace", "mix"):
            bed, bed_loop = track, True
        elif original:
            bed = synced_audio(norm)
    elif mode == "mix" and track is not None and original:
        speech, bed, bed_loop, bed_gain = synced_audio(norm), track, True, fb.MIX_TRACK_GAIN
    elif mode in ("replace", "mix") and track is not None:
        bed, bed_loop = track, True
    elif original:
        speech = synced_audio(norm)
    return {"speech": speech, "speech_offset": voice.start_s if voice else 0.0,
            "speech_gain": 10 ** ((voice.gain_db if voice else 0.0) / 20), "bed": bed, "bed_loop": bed_loop,
            "bed_gain": bed_gain}


def build_audio(norm: NormalizedVideo, track: Path | None, mode: str, cache_root: Path, *,
                voice: Voice | None = None, duck_db: float = 15.0, loudness_lufs: float | None = -14.0) -> Path:
    """The variant's AAC track (48 kHz stereo, exactly the video's length), made once per inputs.

    ``loudness_lufs`` None = no loudness normalisation (a silent result is never normalised).
    Raises FFmpegError / MediaError (unusable track).
    """
    duration = norm.frames / FPS
    p = plan(norm, track, mode, voice)
    parts = [MIX_VERSION, mode, str(norm.frames), str(duck_db), str(loudness_lufs),
             json.dumps({k: v for k, v in p.items() if not isinstance(v, Path)}, sort_keys=True)]
    for key in ("speech", "bed"):
        parts.append(content_digest(Path(p[key])) if p[key] is not None else "-")
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]
    folder = Path(cache_root) / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mix-{key}.m4a"
    with key_lock(f"audio-{key}"):
        if path.is_file():
            os.utime(path)
            return path
        with tempfile.TemporaryDirectory(prefix="mix-", dir=folder) as tmp:
            part = Path(tmp) / "out.m4a"
            if p["speech"] is None and p["bed"] is None:
                run_ffmpeg(fb.silent_audio_args(part, duration), "encoding silence")
            else:
                wav = Path(tmp) / "mix.wav"
                render_mix(p, duration, duck_db, cache_root, wav)
                level = ebur128(wav) if loudness_lufs is not None else None
                if level is None or level.integrated_lufs <= SILENCE_LUFS:
                    run_ffmpeg(fb.encode_audio_args(wav, part, duration), "encoding the audio")
                else:
                    gain = loudness_lufs - level.integrated_lufs
                    over = level.true_peak_db + gain - TRUE_PEAK_DB
                    if over <= MAX_LIMITED_DB:  # one gain, the few peaks over the limit held by a limiter
                        limit = TRUE_PEAK_DB - LIMITER_MARGIN_DB if over > 0 else None
                        run_ffmpeg(fb.gain_encode_args(wav, part, gain, duration, limit), "normalising the loudness")
                    else:  # many dB of peaks over the limit: loudnorm's dynamic normalisation
                        run_ffmpeg(fb.loudnorm_encode_args(wav, part, loudness_lufs, TRUE_PEAK_DB,
                                                           level.as_loudnorm(), duration), "normalising the loudness")
            os.replace(part, path)
    return path


def render_mix(p: dict, duration_s: float, duck_db: float, cache_root: Path, out_wav: Path) -> Path:
    """The mix of :func:`plan`'s ``p`` as a float WAV (no loudness step)."""
    duck = None
    if p["speech"] is not None and p["bed"] is not None:
        voice_lufs = loudness_of(Path(p["speech"]), cache_root) + 20 * math.log10(max(p["speech_gain"], 1e-6))
        duck = duck_parameters(voice_lufs, duck_db)
    run_ffmpeg(fb.mix_args(p["speech"], p["speech_offset"], p["speech_gain"], p["bed"], p["bed_loop"],
                           p["bed_gain"], duck, duration_s, out_wav), "mixing the audio")
    return out_wav


__all__ = ["Loudness", "Voice", "build_audio", "duck_parameters", "ebur128", "loudness_of", "plan", "render_mix"]
