"""Leases and heartbeats of the render farm (issue 13): who runs a job, and when a silent one counts as dead.

A worker running a job refreshes the job row's ``heartbeat_at`` every :func:`heartbeat_interval_s`
seconds (a :class:`Heartbeat` thread). A ``processing`` job whose heartbeat is older than the lease
(``NOVAI_JOB_LEASE_S``, default 60 s) is taken to have lost its worker (killed, machine down, network
cut) and is re-queued by any live worker's sweep (``jobs.recovery.sweep_leases``). Nothing else decides
that a job is dead: a start-up never touches a job whose heartbeat is fresh, wherever it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from media.settings import get_settings

log = logging.getLogger(__name__)


def worker_id() -> str:
    """This process as a worker: ``<host name>:<pid>`` (stored in ``jobs.worker``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_s() -> float:
    """The lease, seconds (``NOVAI_JOB_LEASE_S``)."""
    return float(get_settings().job_lease_s)


def heartbeat_interval_s() -> float:
    """Seconds between two heartbeats of a running job: a quarter of the lease (at least 0.25 s), so
    three heartbeats in a row may be lost (a busy catalog) before the job counts as dead."""
    return max(0.25, lease_s() / 4)


def now_utc() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as aware UTC (SQLite gives naive datetimes back; the catalog only ever stores UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def is_stale(heartbeat_at: datetime | None, now: datetime | None = None, lease: float | None = None) -> bool:
    """True when a heartbeat is older than the lease (``lease`` seconds, default the setting) or absent
    (a job started before the farm's columns existed, or by a process that never heartbeats)."""
    beat = as_utc(heartbeat_at)
    if beat is None:
        return True
    limit = timedelta(seconds=lease_s() if lease is None else lease)
    return (now or now_utc()) - beat > limit


def pid_is_dead_here(worker: str | None) -> bool:
    """True when ``worker`` (``host:pid``) names a process of this machine that no longer exists.

    Lets a start-up take back at once what a killed process of the same machine left, instead of
    waiting for the lease. False for other machines, this very process, and unreadable ids."""
    if not worker:
        return False
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


class Heartbeat:
    """Call ``beat()`` every ``interval_s`` seconds in a daemon thread until :meth:`stop`.

    ``beat`` returns False when the lease is lost (another worker took the job over): the thread then
    stops and :attr:`lost` is set, for the job to stop. An exception from ``beat`` (a busy or unreachable
    catalog) is logged and the next beat is tried: a few missed beats are what the lease allows for.
    """

    def __init__(self, beat: Callable[[], bool], interval_s: float | None = None, name: str = "heartbeat"):
        self._beat = beat
        self._interval = heartbeat_interval_s() if interval_s is None else interval_s
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                alive = self._beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is tolerated by the lease
                log.warning("heartbeat %s not written: %s", self._thread.name, exc)
                continue
            if not alive:
                self.lost.set()
                return

    def stop(self) -> None:
        """Stop beating (waits for a beat in progress, at most one interval)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self._interval + 5)
