"""A render-farm worker: ``python -m jobs.worker`` on each render machine (issue 13).

    python -m jobs.worker [--workers N] [--no-periodic] [--sweep-every SECONDS]

A thin wrapper over Huey's own consumer (``huey.consumer.Consumer``) with the studio's settings
(``NOVAI_*``: the same catalog, queue and shared media folder on every machine, a local
``NOVAI_SCRATCH_DIR``), logging, recovery and signals:

- start-up: writes kept outcomes, re-queues only jobs whose worker is gone (heartbeat older than
  ``NOVAI_JOB_LEASE_S``, or a dead process of this machine; :func:`jobs.recovery.sweep_leases`), and
  removes only this machine's dead scratch (never the shared media folder, which live workers use);
- lease sweep: every ``lease/2`` seconds (Huey's periodic tasks run at most once a minute), a
  compare-and-set claim so that of many workers sweeping at once exactly one re-queues a dead job;
- signals: SIGTERM stops gracefully (running jobs finish, nothing new starts); SIGINT stops at once
  (the jobs it was running are re-queued by another worker once their lease runs out); SIGHUP restarts.

Huey's periodic tasks (expiry, outcome sweep, lease sweep) are enqueued by every consumer that runs
its scheduler: give ``--no-periodic`` to all machines but one (extra runs are harmless, only wasted).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

log = logging.getLogger("jobs.worker")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description="NOVAI Studio render worker")
    parser.add_argument("--workers", type=int, default=None,
                        help="job threads of this worker (default NOVAI_WORKERS)")
    parser.add_argument("--no-periodic", action="store_true",
                        help="do not enqueue Huey's periodic tasks from this worker (run them on one only)")
    parser.add_argument("--sweep-every", type=float, default=None,
                        help="seconds between two lease sweeps (default: half the lease)")
    return parser.parse_args(argv)


def _sweep_loop(stop: threading.Event, every_s: float) -> None:
    from jobs.recovery import sweep_leases

    while not stop.wait(every_s):
        try:
            taken = sweep_leases()
        except Exception as exc:  # noqa: BLE001 - a busy catalog: the next sweep tries again
            log.warning("lease sweep failed: %s", exc)
            continue
        if taken:
            log.warning("re-queued %d job(s) whose worker stopped: %s", len(taken), ", ".join(taken))


def build_consumer(workers: int, periodic: bool):
    """Huey's consumer for the studio's queue: thread workers, SIGTERM graceful."""
    from huey.consumer import Consumer

    from jobs.tasks import huey

    return Consumer(huey, workers=workers, worker_type="thread", periodic=periodic, initial_delay=0.1,
                    backoff=1.15, max_delay=1.0, check_worker_health=True, graceful_signal="TERM")


def main(argv: list[str] | None = None) -> int:
    """Run a worker until SIGTERM/SIGINT; returns the exit status."""
    args = parse_args(argv)
    from media.lease import lease_s, worker_id
    from media.settings import get_settings

    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s %(levelname)s [{worker_id()}] %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # its set-up chatter at start
    settings = get_settings()
    workers = args.workers or settings.workers
    from jobs.queue import huey
    from jobs.recovery import recover_interrupted_jobs
    from media.errors import StudioError

    if huey.immediate:
        print("NOVAI_QUEUE_IMMEDIATE is set: a worker needs a real queue", file=sys.stderr)
        return 2
    try:
        handled = recover_interrupted_jobs(clean_shared=False)
    except StudioError as exc:
        log.warning("interrupted jobs were not recovered: %s", exc)
        handled = 0
    if handled:
        log.info("re-queued %d job(s) whose worker had stopped", handled)
    consumer = build_consumer(workers, periodic=not args.no_periodic)
    stop = threading.Event()
    every = args.sweep_every if args.sweep_every else max(0.5, lease_s() / 2)
    sweeper = threading.Thread(target=_sweep_loop, args=(stop, every), name="lease-sweep", daemon=True)
    sweeper.start()
    log.info("worker %s ready: %d job thread(s), lease %.0f s, media %s, scratch %s", worker_id(), workers,
             lease_s(), settings.media_dir, settings.scratch_root)
    try:
        consumer.run()
    finally:
        stop.set()
        sweeper.join(5)
    log.info("worker %s stopped", worker_id())
    return 0


if __name__ == "__main__":
    sys.exit(main())
