"""A worker process for the farm tests: the studio's Huey (``jobs.queue.huey``, from the ``NOVAI_*``
settings of its environment) with one probe task, run by Huey's own consumer until SIGTERM.

The probe asks fal (the loopback fake) for an upload token with the key the settings hold when the task
starts (``jobs.provider_check.check_fal``), so it shows which key a worker uses at job time.
"""

from __future__ import annotations

import os

from huey import Huey

PROBE_NAME = "farm_probe_check_fal"


def register(instance: Huey):
    """Register the probe task on ``instance`` (the same name in every process); returns it."""

    @instance.task(name=PROBE_NAME)
    def check_fal_key() -> dict:
        from jobs.provider_check import check_fal

        result = check_fal()
        return {"ok": result.ok, "message": result.message, "pid": os.getpid()}

    return check_fal_key


def run_worker() -> None:
    """Consume the studio's queue with one thread worker until SIGTERM (Huey's signal handling)."""
    from jobs.queue import huey

    register(huey)
    huey.create_consumer(workers=1, worker_type="thread", periodic=False, initial_delay=0.05,
                         max_delay=0.2, backoff=1.1).run()
