"""A farm-wide lock held by a catalog row (``work_locks``), for work that must happen once across machines.

A FileLock on a network share is unreliable (NFS/SMB lock daemons, stale locks of dead machines), so
"normalise this source once" is serialised by the catalog every worker already shares:

- take: ``INSERT`` the row; the primary key makes a second insert fail (SQLite and PostgreSQL alike);
- hold: a :class:`~media.lease.Heartbeat` pushes ``expires_at`` a lease ahead while the work runs;
- take over: a row whose ``expires_at`` has passed (its holder died) is claimed with a compare-and-set
  ``UPDATE ... WHERE owner = <old owner> AND expires_at = <old expiry>``, which only one waiter wins;
- release: ``DELETE`` the row (only by its owner).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from media.db import session_scope
from media.lease import Heartbeat, as_utc, heartbeat_interval_s, lease_s, now_utc, worker_id
from media.models import WorkLock

log = logging.getLogger(__name__)

POLL_S = (0.1, 1.0)
"""First and longest wait between two tries of a taken lock, seconds (grows by half each try)."""


class LockTimeout(TimeoutError):
    """The lock was not free within the wait allowed."""


def _owner() -> str:
    return f"{worker_id()}:{threading.get_ident()}"


def _try_take(key: str, owner: str) -> bool:
    now = now_utc()
    expires = now + timedelta(seconds=lease_s())
    try:
        with session_scope() as session:
            session.add(WorkLock(key=key, owner=owner, expires_at=expires, acquired_at=now))
        return True
    except IntegrityError:
        pass
    with session_scope() as session:
        row = session.get(WorkLock, key)
        if row is None:
            return False  # released meanwhile: the next try inserts
        if as_utc(row.expires_at) >= now:
            return False
        old_owner, old_expiry = row.owner, row.expires_at
    with session_scope() as session:  # its holder stopped refreshing it: take it over, if still so
        result = session.execute(
            update(WorkLock).where(WorkLock.key == key, WorkLock.owner == old_owner,
                                   WorkLock.expires_at == old_expiry)
            .values(owner=owner, expires_at=expires, acquired_at=now))
        taken = result.rowcount == 1
    if taken:
        log.warning("took over the lock %s of %s (expired)", key, old_owner)
    return taken


def _refresh(key: str, owner: str) -> bool:
    with session_scope() as session:
        result = session.execute(update(WorkLock).where(WorkLock.key == key, WorkLock.owner == owner)
                                 .values(expires_at=now_utc() + timedelta(seconds=lease_s())))
        return result.rowcount == 1


def release(key: str, owner: str) -> None:
    """Delete the lock row if ``owner`` still holds it."""
    with session_scope() as session:
        session.execute(delete(WorkLock).where(WorkLock.key == key, WorkLock.owner == owner))


@contextmanager
def work_lock(key: str, timeout_s: float | None = None,
              waiting: Callable[[], None] | None = None) -> Iterator[str]:
    """Hold the farm-wide lock ``key`` for the block; yields the owner id.

    Waits while another worker holds it (polling, :data:`POLL_S`); ``waiting()`` is called at each poll
    (a job's cancel check may raise there to stop waiting). Raises :class:`LockTimeout` after
    ``timeout_s`` seconds (None: wait as long as the holder keeps its lease alive). The lock is kept
    alive by a heartbeat every lease/4 and released at the end of the block, whatever happens; a holder
    that dies loses it one lease (``NOVAI_JOB_LEASE_S``) after its last refresh.
    """
    owner = _owner()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delay = POLL_S[0]
    while not _try_take(key, owner):
        if deadline is not None and time.monotonic() > deadline:
            raise LockTimeout(f"the lock {key} stayed taken for more than {timeout_s:.0f} s")
        if waiting is not None:
            waiting()
        time.sleep(delay)
        delay = min(POLL_S[1], delay * 1.5)
    beat = Heartbeat(lambda: _refresh(key, owner), heartbeat_interval_s(), name=f"lock {key}").start()
    try:
        yield owner
    finally:
        beat.stop()
        try:
            release(key, owner)
        except Exception as exc:  # noqa: BLE001 - an unreleased lock expires after one lease
            log.warning("lock %s not released (it expires in %.0f s): %s", key, lease_s(), exc)
