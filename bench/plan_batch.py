"""Benchmark of batch planning (issue 15): a cartesian plan of 5 videos x 10 tracks x 10 hooks = 500
variants (catalog rows, job rows, queued tasks), timed end to end as the Variants tab calls it.

Run by hand:  PYTHONPATH=. python bench/plan_batch.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ns = ap.parse_args()
    os.environ["NOVAI_DATA_DIR"] = tempfile.mkdtemp(prefix="novai-plan-")
    from jobs import variants as variant_jobs
    from jobs.queue import huey
    from media.db import session_scope
    from media.models import AudioFile, Hook, Video

    with session_scope() as session:
        v = [Video(name=f"v{i}.mp4", file=f"videos/v{i}.mp4") for i in range(5)]
        a = [AudioFile(name=f"a{i}.mp3", file=f"audio/a{i}.mp3") for i in range(10)]
        h = [Hook(text=f"hook number {i}", category="bench") for i in range(10)]
        session.add_all([*v, *a, *h])
    ids = [x.id for x in v], [x.id for x in a], [x.id for x in h]
    times, cpu = [], []
    for _ in range(ns.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        created = variant_jobs.create_variant_batch(*ids, 1, {"assignment": "cartesian"})
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert created["total"] == 500
    huey.flush()
    print(f"500-variant cartesian plan: median {statistics.median(times):.2f} s, "
          f"all {', '.join(f'{t:.2f}' for t in times)} s wall; CPU median {statistics.median(cpu):.2f} s "
          f"(load average {os.getloadavg()[0]:.2f}, 2 CPUs shared)")


if __name__ == "__main__":
    main()
