"""Benchmark: end-to-end frames per second of the local face-swap engine (decode, swap, encode).

Run by hand:  python bench/swap.py [--face PHOTO] [--seconds S] [VIDEO ...]
Defaults: every video in ../shared/samples/videos with the face in photos/obama.jpg.
Prints, per video, its size, frames, wall time and end-to-end fps, the CPU time spent per frame (this
process's threads plus the two FFmpeg processes) and the share of frames with a swapped face, then the
load average: the machine may be shared, and wall-clock fps drops with other load while CPU ms per
frame does not (2 free cores give at most 2000 / cpu_ms fps).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--face", type=Path, default=SAMPLES / "photos" / "obama.jpg")
    parser.add_argument("--blend", default="seamless", choices=["seamless", "feather"])
    parser.add_argument("--selection", default="one", choices=["one", "many"])
    args = parser.parse_args()
    os.environ.setdefault("NOVAI_DATA_DIR", tempfile.mkdtemp(prefix="novai-bench-"))

    from jobs.swap_providers.base import SwapContext, SwapOptions, SwapRequest
    from jobs.swap_providers.local import LocalSwapProvider
    from media.video_pipes import read_video_format

    videos = args.videos or sorted((SAMPLES / "videos").glob("*.mp4"))
    provider = LocalSwapProvider(blend=args.blend)
    print(f"command: python bench/swap.py --blend {args.blend} --selection {args.selection} "
          f"--face {args.face.name}; cpus visible: {os.cpu_count()}, preset {provider.preset}")
    with tempfile.TemporaryDirectory() as tmp:
        for video in videos:
            fmt = read_video_format(video)
            out = Path(tmp) / f"{video.stem}_swapped.mp4"
            request = SwapRequest(video, args.face, out, SwapOptions(face_selection=args.selection))
            cpu0 = _cpu_s()
            start = time.perf_counter()
            result = provider.swap(request, SwapContext(progress=lambda p, m: None))
            wall = time.perf_counter() - start
            cpu_ms = 1000 * (_cpu_s() - cpu0) / max(result.frames_total, 1)
            print(f"{video.name:28s} {fmt.width}x{fmt.height} {result.frames_total:4d} frames "
                  f"{wall:6.2f} s  {result.frames_total / wall:6.1f} fps  {cpu_ms:5.1f} CPU ms/frame  "
                  f"faces in {100 * result.frames_swapped / max(result.frames_total, 1):5.1f}% of frames")
    load1, load5, load15 = os.getloadavg()
    print(f"load average (1, 5, 15 min): {load1:.2f} {load5:.2f} {load15:.2f}")


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children (the FFmpeg processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
