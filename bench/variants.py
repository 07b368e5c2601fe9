"""Benchmark of variant batches (issues 7 and 15): the studio against a plain user's way, whole batch.

Run by hand (not a test):
    PYTHONPATH=. python bench/variants.py --quick      # 8 s sources, 1 and 3 variants, one pair each
    PYTHONPATH=. python bench/variants.py              # 20 s sources, 1, 3 and 20 variants, two pairs
    ... --breakdown                                    # also the studio's CPU per FFmpeg step

Sources (built from ../shared/samples, AAC audio): ``conforming`` 1080x1920 H.264 30 frames/s,
keyframe every 2 s, x264 ``medium`` (an ordinary export: other encoder settings than the studio's);
``landscape`` 1920x1080 30 frames/s; ``720p25`` 720x1280 25 frames/s; ``vfr`` 1080x1920 with variable
frame timing (every 5th frame dropped, ~24 frames/s).

For each source and each batch size N the two sides are timed in pairs, alternating which goes first:
- naive: N full re-encodes with ``drawtext`` at the studio's own x264 preset and CRF (one command per
  variant: decode, fit, draw the hook, encode, new audio) - what a user would script by hand;
- studio: an empty cache, then N calls of what a variant job does: :func:`render_variant`
  (normalisation included in the first, which also encodes its siblings' hook windows together,
  :func:`prepare_hook_windows`, as the first variant job of a source does; ``one_pass`` when N = 1, as
  the planner marks a source's only variant) and the cataloguing facts + thumbnail (:func:`catalog_facts`).
The studio side is warmed up first (one untimed 2-variant batch of a 5 s clip), as a worker process that
has rendered before. CPU seconds (this process + its FFmpeg children, ``getrusage``) are the figure to compare on a shared
machine; wall seconds and the load average are printed beside them. "first" = seconds until the
first variant is finished. Every studio output is checked: it decodes with ``ffmpeg -v warning``
silent and lasts as long as the source.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"
ONE_PASS = False

# name -> (video filter on the looped sample, extra encoder args, conforming?)
SHAPES: dict[str, tuple[str, list[str], bool]] = {
    "conforming": ("scale=1080:1920,fps=30,format=yuv420p",
                   ["-preset", "medium", "-crf", "20", "-g", "60", "-keyint_min", "60"], True),
    "landscape": ("scale=1920:1080,fps=30,format=yuv420p", ["-preset", "veryfast", "-crf", "20"], False),
    "720p25": ("scale=720:1280,fps=25,format=yuv420p", ["-preset", "veryfast", "-crf", "20"], False),
    "vfr": ("scale=1080:1920,fps=30,select='not(eq(mod(n\\,5)\\,2))',format=yuv420p",
            ["-preset", "veryfast", "-crf", "20", "-fps_mode", "vfr"], False),
}


def build_source(out: Path, shape: str, duration: float) -> None:
    """A ``duration`` s source of ``shape`` (see :data:`SHAPES`) with AAC audio."""
    from media.ffmpeg_run import run_ffmpeg
    vf, enc, _ = SHAPES[shape]
    run_ffmpeg(["-stream_loop", "-1", "-i", str(SAMPLES / "videos" / "liveportrait_d13.mp4"),
                "-stream_loop", "-1", "-i", str(SAMPLES / "audio" / "musetalk_sun.wav"),
                "-map", "0:v", "-map", "1:a", "-vf", vf, "-c:v", "libx264", *enc,
                "-c:a", "aac", "-b:a", "128k", "-t", str(duration), "-movflags", "+faststart", str(out)],
               f"building the {shape} source")


def check(path: Path, duration: float) -> None:
    """The output decodes with no FFmpeg warning, is 1080x1920 and lasts ``duration`` seconds."""
    from media.ffmpeg_run import ffmpeg_exe
    from media.probe import probe
    res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "warning", "-i", str(path), "-f", "null", "-"],
                         check=False, capture_output=True, text=True)
    info = probe(path)
    assert res.returncode == 0 and not res.stderr.strip(), f"{path.name}: {res.stderr[-500:]}"
    assert (info.width, info.height) == (1080, 1920), info
    assert abs(info.duration_s - duration) <= 0.1, (path.name, info.duration_s, duration)


def cpu_s() -> float:
    """CPU seconds used so far by this process and its finished children (FFmpeg)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Run:
    cpu: float
    wall: float
    first: float
    load: float


def timed(fn, n: int) -> Run:
    """Run ``fn(j)`` for j in 0..n-1; CPU and wall of the whole, wall until the first finished."""
    load = os.getloadavg()[0]
    c0, t0 = cpu_s(), time.perf_counter()
    first = 0.0
    for j in range(n):
        fn(j)
        if j == 0:
            first = time.perf_counter() - t0
    return Run(cpu_s() - c0, time.perf_counter() - t0, first, load)


SIDE = ["naive"]  # which side is being timed (for --breakdown)


def _count_ffmpeg_steps(steps: dict[str, list[float]]) -> None:
    """Make every ``run_ffmpeg`` of the media modules add its FFmpeg child's CPU seconds and a call to
    ``steps[description]`` while the studio side runs (the description names the step, e.g. "normalising
    x.mp4", "encoding 3 hook windows"). Measurement only: the calls themselves are unchanged."""
    import media
    from media import ffmpeg_run

    real = ffmpeg_run.run_ffmpeg

    def counted(args, what, *rest, **kwargs):
        if SIDE[0] != "studio":
            return real(args, what, *rest, **kwargs)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            return real(args, what, *rest, **kwargs)
        finally:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            entry = steps.setdefault(what.split(" of ")[0] if what.startswith("joining hook window") else what,
                                     [0.0, 0])
            entry[0] += cpu
            entry[1] += 1

    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(media.__path__, "media."):
        if info.name.startswith("media.migrations"):
            continue
        module = importlib.import_module(info.name)
        if getattr(module, "run_ffmpeg", None) is real:
            module.run_ffmpeg = counted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 s sources, batches of 1 and 3, one pair")
    ap.add_argument("--duration", type=float, default=None, help="source length, seconds (default 20)")
    ap.add_argument("--variants", default=None, help="batch sizes per source, e.g. 1,3,20")
    ap.add_argument("--pairs", type=int, default=None, help="paired runs per measurement (default 2)")
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"subset of {','.join(SHAPES)}")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--cold", action="store_true",
                    help="no warm-up: the first studio batch pays the imports and the one-time join proof")
    ap.add_argument("--breakdown", action="store_true",
                    help="also print the studio side's CPU seconds per FFmpeg step (summed over pairs)")
    ns = ap.parse_args()
    duration = ns.duration or (8.0 if ns.quick else 20.0)
    sizes = [int(x) for x in (ns.variants or ("1,3" if ns.quick else "1,3,20")).split(",")]
    pairs = ns.pairs or (1 if ns.quick else 2)
    shapes = [s for s in ns.shapes.split(",") if s]
    work = ns.workdir or Path(tempfile.mkdtemp(prefix="novai-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NOVAI_DATA_DIR", str(work / "data"))

    from media.canonical import current_codec
    from media.probe import probe
    from media.variant_render import VariantOptions, render_naive, render_variant

    try:  # issue 15: the first variant job of a source encodes its siblings' hook windows together
        from media.variant_render import prepare_hook_windows as prepare
    except ImportError:
        prepare = None
    try:  # ... and, when it transcodes the source, in the normalisation's own run
        from media.variant_render import prepare_source
    except ImportError:
        prepare_source = None
    from media.variant_render import normalize_video

    steps: dict[str, list[float]] = {}
    if ns.breakdown:
        _count_ffmpeg_steps(steps)

    global ONE_PASS
    ONE_PASS = "one_pass" in inspect.signature(render_variant).parameters  # the planner's choice (issue 15)
    try:
        from media.variant_render import catalog_facts
    except ImportError:  # before issue 15: the task probed and decoded its own output again
        from media.probe import probe as _probe
        from media.thumbnails import video_thumbnail

        def catalog_facts(result, thumb: Path):
            info = _probe(result.path)
            video_thumbnail(result.path, info.duration_s, thumb)
            return info

    hooks = [h for h in (SAMPLES / "hooks.txt").read_text(encoding="utf-8").splitlines() if h.strip()]
    tracks = sorted((SAMPLES / "audio").iterdir())
    options = VariantOptions(hook_start_s=0.0, hook_duration_s=3.0)
    codec = current_codec()
    print(f"command: python bench/variants.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.2f} "
          "(shared machine: compare CPU seconds)")
    print(f"both sides encode with x264 preset {codec.preset}, CRF {codec.crf}; sources {duration:g} s; "
          f"hook 3 s at 0 s; batch sizes {sizes}; {pairs} pair(s) each")

    # the studio side runs as in a worker process that has rendered before (its modules imported, fonts
    # and encoder facts loaded): one throwaway 2-variant batch of a 5 s clip first, untimed
    if not ns.cold:
        warm = work / "warm.mp4"
        build_source(warm, "landscape", 5.0)
        if prepare_source is not None:
            prepare_source(lambda windows: normalize_video(warm, options.fit, work / "cache" / "warm", windows=windows),
                           [(hooks[0], options), (hooks[1], options)], work / "cache" / "warm",
                           work / "cache" / "warm" / "tmp")
        for j in range(2):
            res = render_variant(warm, tracks[j], hooks[j], options, work / "out" / "warm" / f"{j}.mp4",
                                 work / "cache" / "warm")
            catalog_facts(res, work / "out" / "warm" / f"{j}.jpg")
        shutil.rmtree(work / "cache" / "warm", ignore_errors=True)
        shutil.rmtree(work / "out" / "warm", ignore_errors=True)

    results: dict[tuple[str, int], tuple[list[Run], list[Run], str]] = {}
    for shape in shapes:
        source = work / f"{shape}.mp4"
        build_source(source, shape, duration)
        src_dur = probe(source).duration_s
        for n in sizes:
            naive_runs: list[Run] = []
            studio_runs: list[Run] = []
            paths: list[str] = []
            for p in range(pairs):
                tag = f"{shape}-{n}-{p}"
                out = work / "out" / tag

                def naive(j: int, out=out, source=source) -> None:
                    render_naive(source, tracks[j % len(tracks)], hooks[j % len(hooks)], options,
                                 out / f"naive_{j}.mp4", preset=codec.preset)

                def studio(j: int, out=out, tag=tag, source=source, paths=paths, n=n) -> None:
                    batch_hooks = [(hooks[i % len(hooks)], options) for i in range(n)]
                    if j == 0 and n > 1 and prepare_source is not None:  # as the first variant job does
                        cache = work / "cache" / tag
                        prepare_source(lambda windows: normalize_video(source, options.fit, cache, windows=windows),
                                       batch_hooks, cache, cache / "tmp")
                    elif j == 0 and n > 1 and prepare is not None:
                        norm = normalize_video(source, options.fit, work / "cache" / tag)
                        prepare(norm, batch_hooks, work / "cache" / tag)
                    res = render_variant(source, tracks[j % len(tracks)], hooks[j % len(hooks)], options,
                                         out / f"studio_{j}.mp4", work / "cache" / tag,
                                         **({"one_pass": True} if n == 1 and ONE_PASS else {}))
                    catalog_facts(res, out / f"thumb_{j}.jpg")
                    paths.append(res.render_path)

                order = [("naive", naive), ("studio", studio)]
                if p % 2:
                    order.reverse()
                for side, fn in order:
                    SIDE[0] = side
                    run = timed(fn, n)
                    (naive_runs if side == "naive" else studio_runs).append(run)
                for j in range(n):
                    check(out / f"studio_{j}.mp4", src_dur)
                shutil.rmtree(work / "cache" / tag, ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
            results[(shape, n)] = (naive_runs, studio_runs, ",".join(sorted(set(paths))))
            nc = statistics.median(r.cpu for r in naive_runs)
            sc = statistics.median(r.cpu for r in studio_runs)
            nw = statistics.median(r.wall for r in naive_runs)
            sw = statistics.median(r.wall for r in studio_runs)
            print(f"{shape:>10} x{n:<3} naive {nc:7.1f} CPU s {nw:7.1f} s wall (first {naive_runs[0].first:5.1f} s)"
                  f" | studio {sc:7.1f} CPU s {sw:7.1f} s wall (first {studio_runs[0].first:5.1f} s)"
                  f" [{results[(shape, n)][2]}] | CPU ratio {nc / sc:5.2f}x, wall {nw / sw:5.2f}x"
                  f" | load {statistics.mean(r.load for r in naive_runs + studio_runs):.2f}", flush=True)
            if ns.breakdown:
                for what, (cpu, calls) in sorted(steps.items(), key=lambda item: -item[1][0]):
                    print(f"{'':>16} studio step {cpu / pairs:6.2f} CPU s a batch  x{calls / pairs:g}  {what}")
                print(f"{'':>16} studio rest {sc - sum(c for c, _ in steps.values()) / pairs:6.2f} CPU s a batch "
                      "(the median batch minus the steps: Python, and probes and loudness measures run outside "
                      "run_ffmpeg)")
                steps.clear()

    print("whole-batch CPU ratio naive/studio (sum over sources, medians of pairs):")
    for n in sizes:
        for label, group in (("conforming", [s for s in shapes if SHAPES[s][2]]),
                             ("non-conforming", [s for s in shapes if not SHAPES[s][2]])):
            if not group:
                continue
            nc = sum(statistics.median(r.cpu for r in results[(s, n)][0]) for s in group)
            sc = sum(statistics.median(r.cpu for r in results[(s, n)][1]) for s in group)
            print(f"  {n:>3} variants/source, {label:<14}: {nc / sc:5.2f}x ({nc:.1f} / {sc:.1f} CPU s)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if ns.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
