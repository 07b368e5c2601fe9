"""Benchmark of captions, voice-over and the audio mix (issue 11). Run by hand (not a test):

    python bench/captions.py [--duration 30] [--batch 20] [--workers 2]

1. Builds a ``--duration`` s 1080x1920 source with English speech (the 9:16 LivePortrait clip looped, the
   VCTK speaker p240 sample looped) and normalises it (not timed: the studio does that once at import).
2. Times, at the canonical preset (``NOVAI_OUTPUT_PRESET``, default veryfast), with a hook shown on the whole
   video: a plain full encode (``render_variant``, hook duration 0: one encode of the normalised copy) and
   a captioned variant (``render_variant`` with karaoke captions from the speech: one encode with the
   caption band and the hook; caption band cache cold). Prints the ratio (goal <= 1.3x).
3. Real-time factors on this machine: transcription (faster-whisper tiny.en, int8, ``NOVAI_ASR_THREADS``)
   of the source's speech, and Piper synthesis of a ~20 s script (when the voice extra is installed).
4. A ``--batch`` variant captioned batch (pop style, different hooks, speech captions, ducked music under
   the source's speech in ``mix`` mode, loudness on) rendered by ``--workers`` threads like the queue
   does: output seconds per wall second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"
SCRIPT = ("Stop scrolling for a second. This is the one editing trick nobody tells you about, and it takes "
          "less than a minute. Watch until the end, then try it on your own clips tonight.")


def build_speech_source(out: Path, duration: float) -> None:
    """A 1080x1920 30 fps H.264 (keyframe every second) + AAC source with English speech throughout."""
    from media.ffmpeg_run import run_ffmpeg
    run_ffmpeg(["-stream_loop", "-1", "-i", str(SAMPLES / "videos" / "liveportrait_d13.mp4"),
                "-stream_loop", "-1", "-i", str(SAMPLES / "audio" / "vctk_p240_00000.mp3"),
                "-map", "0:v", "-map", "1:a", "-vf", "scale=1080:1920,fps=30,format=yuv420p",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "30", "-keyint_min", "30",
                "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-t", str(duration),
                "-movflags", "+faststart", str(out)], "building the benchmark source")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from media import asr, tts
    from media.normalize import normalize_video, synced_audio
    from media.probe import probe
    from media.subtitles import shift_words
    from media.variant_options import VariantOptions
    from media.variant_render import render_variant

    work = Path(tempfile.mkdtemp(prefix="bench-captions-"))
    cache = work / "cache"
    source = work / "source.mp4"
    build_speech_source(source, args.duration)
    norm = normalize_video(source, "blur", cache)
    print(f"source: {args.duration:.0f} s 1080x1920, preset {os.environ.get('NOVAI_OUTPUT_PRESET', 'veryfast')}, "
          f"{os.cpu_count()} CPUs visible")

    t0 = time.perf_counter()
    transcript = asr.transcribe_file(synced_audio(norm))
    asr_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    asr.transcribe_file(synced_audio(norm))
    asr_warm = time.perf_counter() - t0
    print(f"ASR tiny.en int8: {len(transcript.words)} words in {asr_s:.2f} s incl. model load, {asr_warm:.2f} s "
          f"warm -> real-time factor {asr_warm / norm.duration_s:.3f} (audio {norm.duration_s:.1f} s)")
    words = shift_words(transcript.words, 0.0, norm.duration_s)

    hook = "Wait for the end 😳"
    plain_opts = VariantOptions(hook_duration_s=0, audio_mode="keep", loudness_lufs=None)
    cap_opts = plain_opts.model_copy(update={"captions": "speech", "caption_style": "karaoke"})
    render_variant(source, None, hook, plain_opts, work / "warm.mp4", cache)  # audio path warmed
    t0 = time.perf_counter()
    plain = render_variant(source, None, hook, plain_opts, work / "plain.mp4", cache)
    plain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    captioned = render_variant(source, None, hook, cap_opts, work / "captioned.mp4", cache, words=words)
    cap_s = time.perf_counter() - t0
    assert plain.render_path == "full" and captioned.render_path == "captioned"
    assert abs(probe(captioned.path).duration_s - norm.duration_s) < 0.05
    print(f"plain full encode: {plain_s:.2f} s; captioned (band cache cold): {cap_s:.2f} s "
          f"-> ratio {cap_s / plain_s:.2f}x (goal <= 1.3x)")

    if tts.available():
        t0 = time.perf_counter()
        wav = tts.synthesize(SCRIPT, "joe-us", work / "voices")
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        wav2 = tts.synthesize(SCRIPT + " Really.", "joe-us", work / "voices")
        tts_s = time.perf_counter() - t0
        print(f"Piper joe-us: {tts.wav_duration(wav2):.1f} s of speech in {tts_s:.2f} s warm ({load_s:.2f} s with "
              f"load) -> real-time factor {tts_s / tts.wav_duration(wav2):.3f}")
        del wav
    else:
        print("Piper not installed (pip install -e '.[voice]'): TTS real-time factor not measured")

    tracks = sorted((SAMPLES / "audio").iterdir())
    hooks = [ln.strip() for ln in (SAMPLES / "hooks.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    batch_opts = VariantOptions(captions="speech", caption_style="pop", audio_mode="mix", hook_duration_s=3)

    def one(i: int) -> float:
        res = render_variant(source, tracks[i % len(tracks)], hooks[i % len(hooks)], batch_opts,
                             work / "batch" / f"{i:03d}.mp4", cache, words=words)
        return res.duration_s

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        total = sum(pool.map(one, range(args.batch)))
    wall = time.perf_counter() - t0
    print(f"batch of {args.batch} captioned variants ({args.workers} workers): {total:.0f} s of video in "
          f"{wall:.1f} s -> {total / wall:.2f} output s per wall s")
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
