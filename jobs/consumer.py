"""Run the Huey consumer inside the studio process (thread workers), without its signal handlers.

``Consumer.start()`` installs SIGINT/SIGTERM/SIGHUP handlers, which would steal Ctrl-C from the app (and
raises off the main thread). The studio owns the process's signals, so this consumer skips that step and
is stopped explicitly by :func:`stop_consumer`. ``python -m jobs.worker`` (jobs/worker.py) is the way to run
workers in a separate process (``launch.py --no-worker``).
"""

from __future__ import annotations

import logging

from huey.consumer import Consumer

from jobs.tasks import huey

log = logging.getLogger(__name__)


class InProcessConsumer(Consumer):
    """A Huey consumer that leaves the process's signal handlers alone."""

    def _set_signal_handlers(self) -> None:  # the app, not the consumer, handles signals
        return None


def start_consumer(workers: int = 2, periodic: bool = True) -> InProcessConsumer:
    """Start ``workers`` thread workers plus the scheduler; returns the running consumer."""
    consumer = InProcessConsumer(huey, workers=workers, worker_type="thread", periodic=periodic,
                                 check_worker_health=False, initial_delay=0.1, max_delay=1.0,
                                 backoff=1.15)
    consumer.start()
    log.info("Huey consumer started in-process with %d thread workers", workers)
    return consumer


def stop_consumer(consumer: InProcessConsumer, graceful: bool = True) -> None:
    """Stop the workers (waiting for running tasks when ``graceful``)."""
    consumer.stop(graceful=graceful)
