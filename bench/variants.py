"""Benchmark of variant rendering (issue 7): naive full re-encode vs the studio's fast path vs the floor.

Run by hand (not a test):  python bench/variants.py [--duration 30] [--batch 20] [--naive-preset medium]

1. Builds a ``--duration`` s 1080x1920 H.264 source (keyframe every second, AAC audio) from the
   sample media (../shared/samples: the 9:16 LivePortrait clip looped, MuseTalk speech looped).
2. Times, on that source, with a 3 s hook and the audio replaced by a sample track:
   - naive: one full re-encode with drawtext (the original design; x264 default preset ``medium``);
   - studio: ``render_variant`` (source already normalised, as the studio does after import; hook
     segment and audio caches cold);
   - floor: stream copy of the video + AAC encode of the new audio, no overlay.
   and prints seconds of output video per wall-clock second for each, and the ratios.
3. A batch of ``--batch`` variants from the same source into an empty cache: one normalisation plus one
   hook-window encode and remux per variant (different hooks, the 4 sample tracks in turn).
Every studio output is checked: it decodes with no FFmpeg warnings and lasts as long as the source.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"


def build_source(out: Path, duration: float) -> None:
    """A 1080x1920 30 fps H.264 (keyframe every 30 frames) + AAC source of ``duration`` seconds."""
    from media.ffmpeg_run import run_ffmpeg
    run_ffmpeg(["-stream_loop", "-1", "-i", str(SAMPLES / "videos" / "liveportrait_d13.mp4"),
                "-stream_loop", "-1", "-i", str(SAMPLES / "audio" / "musetalk_sun.wav"),
                "-map", "0:v", "-map", "1:a", "-vf", "scale=1080:1920,fps=30,format=yuv420p",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "30", "-keyint_min", "30",
                "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-t", str(duration),
                "-movflags", "+faststart", str(out)], "building the benchmark source")


def floor(source: Path, track: Path, out: Path, duration: float) -> None:
    """Stream-copy the video, encode only the replaced audio."""
    from media import ffmpeg_builder as fb
    from media.ffmpeg_run import run_ffmpeg
    args = fb.replace_audio_args(track, out, duration)
    i = args.index("-filter_complex")
    graph = args[i + 1].replace("[0:a:0]", "[1:a:0]")
    audio = args[args.index("-map") + 1]  # the graph's output label (ffmpeg-python names it [sN])
    run_ffmpeg(["-i", str(source), *args[:i], "-filter_complex", graph, "-map", "0:v:0", "-map", audio,
                "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-t", str(duration), "-movflags", "+faststart",
                str(out)], "floor")


def check(path: Path, duration: float) -> None:
    from media.ffmpeg_run import ffmpeg_exe
    from media.probe import probe
    res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "warning", "-i", str(path), "-f", "null", "-"],
                         check=False, capture_output=True, text=True)
    info = probe(path)
    assert res.returncode == 0 and not res.stderr.strip(), f"{path.name}: {res.stderr[-500:]}"
    assert (info.width, info.height) == (1080, 1920) and abs(info.duration_s - duration) <= 2 / 30, info


def cpu_s() -> float:
    """CPU seconds used so far by this process and its finished children (FFmpeg)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Timer:
    """Wall and CPU seconds of a block (CPU time is less disturbed by other work on a shared machine)."""

    def __enter__(self) -> Self:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_s()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, cpu_s() - self.cpu0


def speed(duration: float, t: Timer) -> str:
    return (f"{t.wall:7.2f} s wall {duration / t.wall:7.2f} s of video/s | {t.cpu:7.2f} CPU s "
            f"{duration / t.cpu:7.2f} s of video/CPU s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="studio single-variant renders to time")
    ap.add_argument("--naive-preset", default="medium")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ns = ap.parse_args()
    work = ns.workdir or Path(tempfile.mkdtemp(prefix="novai-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NOVAI_DATA_DIR", str(work / "data"))

    from media.canonical import current_codec, hook_window_codec
    from media.normalize import normalize_video
    from media.probe import probe
    from media.settings import reset_settings
    from media.variant_render import VariantOptions, render_naive, render_variant

    hooks = (SAMPLES / "hooks.txt").read_text(encoding="utf-8").splitlines()
    tracks = sorted((SAMPLES / "audio").iterdir())
    sax = SAMPLES / "audio" / "sms_sax-phrase.wav"
    options = VariantOptions(hook_start_s=0.0, hook_duration_s=3.0)
    codec = current_codec()
    print(f"command: python bench/variants.py --duration {ns.duration:g} --batch {ns.batch} "
          f"--naive-preset {ns.naive_preset}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start "
          f"(CPU shared with other work: figures are indicative)")
    print(f"studio codec: x264 preset {codec.preset}, CRF {codec.crf} (hook windows: "
          f"{hook_window_codec().preset}); naive: preset {ns.naive_preset}")

    source = work / "source_1080x1920.mp4"
    t0 = time.perf_counter()
    build_source(source, ns.duration)
    duration = probe(source).duration_s
    print(f"source: {duration:.2f} s 1080x1920 H.264, keyframe every 1 s (built in {time.perf_counter() - t0:.1f} s)")

    cache = work / "cache"
    with Timer() as t_norm:
        normalize_video(source, options.fit, cache)
    print(f"normalisation (once per source):    {speed(duration, t_norm)}")

    with Timer() as t_naive:
        render_naive(source, sax, hooks[0], options, work / "naive.mp4", preset=ns.naive_preset)
    print(f"naive  (full re-encode + drawtext): {speed(duration, t_naive)}")

    studio: list[Timer] = []
    for i in range(ns.repeats):
        with Timer() as t:
            res = render_variant(source, sax, hooks[i + 1], options, work / f"studio_{i}.mp4", cache)
        check(res.path, duration)
        studio.append(t)
        shutil.rmtree(cache / "audio", ignore_errors=True)  # keep the audio encode in every timing
        print(f"studio ({res.render_path}, {res.reencoded_s:.0f} s re-encoded):  {speed(duration, t)}")
    s_wall = statistics.median(t.wall for t in studio)
    s_cpu = statistics.median(t.cpu for t in studio)

    os.environ["NOVAI_HOOK_WINDOW_PRESET"] = ""  # the hook window at the canonical preset too
    reset_settings()
    same: list[Timer] = []
    for i in range(ns.repeats):
        with Timer() as t:
            res = render_variant(source, sax, hooks[i + 10], options, work / f"same_{i}.mp4", cache)
        check(res.path, duration)
        same.append(t)
        shutil.rmtree(cache / "audio", ignore_errors=True)
        print(f"studio, window at {codec.preset} too:   {speed(duration, t)}")
    os.environ.pop("NOVAI_HOOK_WINDOW_PRESET")
    reset_settings()
    same_wall = statistics.median(t.wall for t in same)
    same_cpu = statistics.median(t.cpu for t in same)

    with Timer() as t_floor:
        floor(source, sax, work / "floor.mp4", duration)
    print(f"floor  (stream copy + audio encode): {speed(duration, t_floor)}")
    print(f"ratios (median studio): naive/studio {t_naive.wall / s_wall:.1f}x wall, {t_naive.cpu / s_cpu:.1f}x CPU; "
          f"studio/floor {s_wall / t_floor.wall:.1f}x wall, {s_cpu / t_floor.cpu:.1f}x CPU; "
          f"naive/floor {t_naive.wall / t_floor.wall:.0f}x wall")
    print(f"ratios with the window at {codec.preset}: naive/studio {t_naive.wall / same_wall:.1f}x wall, "
          f"{t_naive.cpu / same_cpu:.1f}x CPU")

    batch_cache = work / "batch-cache"
    results = []
    with Timer() as t_batch:
        for j in range(ns.batch):
            res = render_variant(source, tracks[j % len(tracks)], hooks[j % len(hooks)], options,
                                 work / "batch" / f"v{j:02d}.mp4", batch_cache)
            results.append(res)
    batch_wall = t_batch.wall
    for res in results:
        check(res.path, duration)
    normalised = len([p for p in (batch_cache / "normalized").iterdir() if not p.name.startswith(".")])
    encoded = sum(r.reencoded_s for r in results)
    first, rest = results[0].wall_s, [r.wall_s for r in results[1:]]
    print(f"batch of {ns.batch}: {batch_wall:.1f} s wall for {ns.batch * duration:.0f} s of video "
          f"({ns.batch * duration / batch_wall:.1f} s of video per s); {normalised} normalisation, "
          f"{encoded:.0f} s re-encoded in hook windows; first variant (with the normalisation) {first:.1f} s, "
          f"others median {statistics.median(rest) if rest else 0:.2f} s")
    print(f"batch CPU {t_batch.cpu:.1f} s = normalisation {t_norm.cpu:.1f} s + {ns.batch} x "
          f"{(t_batch.cpu - t_norm.cpu) / ns.batch:.2f} s per variant (single studio variant: {s_cpu:.2f} s)")
    print(f"batch vs naive x {ns.batch}: {t_naive.wall * ns.batch / batch_wall:.1f}x faster wall, "
          f"{t_naive.cpu * ns.batch / t_batch.cpu:.1f}x less CPU")
    if not ns.keep and ns.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
