"""Spend on paid cloud calls: per day and per tool, CSV export, and the daily spending limit.

Every paid call writes a ``cost_records`` row (``media.job_store.record_cost``). Days are UTC days,
like every time in the catalog. The daily limit comes from ``DAILY_COST_LIMIT_CENTS`` (the environment)
and from Settings (saved in the catalog, ``media.stored_settings`` entry ``preferences``, so every process
and machine applies the same limit; an older studio's ``<data_dir>/preferences.json`` moves there on first
read); when both are set the lower one applies,
so the UI can tighten the limit but never loosen what the environment sets. No limit set: no limit.

A paid tool reserves its estimate with :func:`reserve_spend` (or the :func:`spend_reservation` block)
before it queues anything: the check and the reservation are one transaction, serialised across threads
and processes (SQLite ``BEGIN IMMEDIATE``; on other databases a ``SELECT ... FOR UPDATE`` of the one
``spend_lock`` row), so two submissions at the same instant cannot both pass the limit. A held
reservation counts against the limit while its job is active (less what the job already recorded); the
job boundary (``jobs.runner.run_job``) settles it to the recorded cost when the job completes and
releases it when the job fails or is canceled. A reservation whose job has ended counts nothing even if
nobody released it (a killed worker), and one never attached to a job stops counting after
:data:`UNATTACHED_HOLD_S` seconds.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from media import store
from media.db import catalog_problem, get_engine, session_scope
from media.errors import InvalidInput, StudioError
from media.job_store import spend_since
from media.models import ACTIVE_JOB_STATUSES, CostRecord, Job, SpendLock, SpendReservation, new_id, utcnow
from media.settings import get_settings
from media.stored_settings import change_setting, read_setting

log = logging.getLogger(__name__)

PREFERENCES_FILE_NAME = "preferences.json"  # where an older studio saved them; moved into the catalog
PREFERENCES_SETTING = "preferences"
LIMIT_KEY = "daily_cost_limit_cents"
MAX_DAYS = 3660
UNATTACHED_HOLD_S = 600
"""A reservation not yet attached to a job (its submission is still creating the job) counts this long."""


class SpendLimitExceeded(StudioError, ValueError):
    """A paid job refused because its estimate plus today's spend would pass the daily limit."""

    def __init__(self, estimate_cents: int, today_cents: int, limit_cents: int) -> None:
        self.estimate_cents = estimate_cents
        self.today_cents = today_cents
        self.limit_cents = limit_cents
        left = max(0, limit_cents - today_cents)
        super().__init__(
            f"Daily spending limit reached: this job is estimated at {format_cents(estimate_cents)}, "
            f"today's spend is {format_cents(today_cents)} and the daily limit is "
            f"{format_cents(limit_cents)} ({format_cents(left)} left today). Nothing was queued. "
            "Raise the limit in Settings or DAILY_COST_LIMIT_CENTS, or wait until tomorrow (UTC)."
        )


@dataclass(frozen=True)
class DailyLimit:
    """The daily limit in cents from each place it can be set, and the one that applies (None: none)."""

    environment: int | None
    ui: int | None
    effective: int | None


def format_cents(cents: int) -> str:
    """``1234`` -> ``'$12.34 (1234¢)'``."""
    return f"${cents / 100:,.2f} ({cents}¢)"


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of ``now``'s day (naive, like catalog times)."""
    now = now or utcnow()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of the first day of ``now``'s month."""
    return day_start(now).replace(day=1)


def spend_today() -> int:
    """Cents recorded since midnight UTC."""
    return spend_since(day_start())


def spend_this_month() -> int:
    """Cents recorded since the first of the month (UTC)."""
    return spend_since(month_start())


# --- the daily limit -----------------------------------------------------------------------------

def _preferences_path() -> Path:
    return get_settings().data_dir / PREFERENCES_FILE_NAME


def _import_preferences_file() -> None:
    """Move an older studio's ``preferences.json`` into the catalog (values in the catalog win)."""
    path = _preferences_path()
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(old, dict):
        change_setting(PREFERENCES_SETTING, lambda current: {**old, **current})
    path.unlink(missing_ok=True)


def _read_preferences() -> dict[str, Any]:
    _import_preferences_file()
    return read_setting(PREFERENCES_SETTING) or {}


def daily_limit() -> DailyLimit:
    """The daily limit from the environment and from Settings, and the one that applies (the lower)."""
    env = get_settings().daily_cost_limit_cents
    ui_value = _read_preferences().get(LIMIT_KEY)
    ui = int(ui_value) if isinstance(ui_value, int) and not isinstance(ui_value, bool) else None
    set_values = [v for v in (env, ui) if v is not None]
    return DailyLimit(env, ui, min(set_values) if set_values else None)


def set_daily_limit(cents: int | None) -> DailyLimit:
    """Set (or with None clear) the limit saved from Settings; returns the new :class:`DailyLimit`.

    Raises ValueError for a negative amount.
    """
    if cents is not None:
        if int(cents) != cents or cents < 0:
            raise InvalidInput(f"daily limit must be a whole number of cents, 0 or more (got {cents})")
        cents = int(cents)
    _import_preferences_file()

    def change(data: dict[str, Any]) -> dict[str, Any]:
        data.pop(LIMIT_KEY, None)
        return data if cents is None else {**data, LIMIT_KEY: cents}

    change_setting(PREFERENCES_SETTING, change)
    return daily_limit()


def _whole_cents(estimate_cents: float) -> int:
    if estimate_cents < 0:
        raise ValueError(f"cost estimate must be 0 or more cents (got {estimate_cents})")
    return math.ceil(estimate_cents)  # a fractional estimate counts as the next whole cent


def _committed_cents(conn: Connection, now: datetime) -> int:
    """Cents recorded today plus what active jobs' held reservations still hold (see the module doc)."""
    recorded = conn.execute(select(func.coalesce(func.sum(CostRecord.amount_cents), 0))
                            .where(CostRecord.created_at >= day_start(now))).scalar_one()
    rows = conn.execute(
        select(SpendReservation.job_id, SpendReservation.estimate_cents, SpendReservation.created_at,
               Job.status)
        .select_from(SpendReservation)
        .join(Job, Job.id == SpendReservation.job_id, isouter=True)
        .where(SpendReservation.status == "held")).all()
    cutoff = (now - timedelta(seconds=UNATTACHED_HOLD_S)).replace(tzinfo=None)
    live = [r for r in rows if (r.status in ACTIVE_JOB_STATUSES if r.status is not None
                                else r.created_at.replace(tzinfo=None) >= cutoff)]
    job_ids = [r.job_id for r in live if r.job_id]
    already: dict[str, int] = {}
    if job_ids:
        already = dict(conn.execute(
            select(CostRecord.job_id, func.sum(CostRecord.amount_cents))
            .where(col(CostRecord.job_id).in_(job_ids)).group_by(CostRecord.job_id)).all())
    held = sum(max(0, r.estimate_cents - int(already.get(r.job_id or "", 0))) for r in live)
    return int(recorded) + held


@contextmanager
def _spend_transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One write transaction that no other spend check (thread or process) can interleave with.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the first read (waits up to the
    connection's busy timeout). Other databases: ``SELECT ... FOR UPDATE`` of the ``spend_lock`` row.
    Commits on success, rolls back on error.
    """
    try:
        with _locked(engine or get_engine()) as conn:
            yield conn
    except DBAPIError as exc:
        raise (catalog_problem(exc) or exc) from exc


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            lock = select(SpendLock.id).where(SpendLock.id == 1).with_for_update()
            if conn.execute(lock).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(SpendLock).values(id=1))
                except IntegrityError:
                    pass  # another process created it first
                conn.execute(lock).first()
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def check_spend_limit(estimate_cents: float) -> int | None:
    """Refuse a paid job whose estimate plus today's committed spend would pass the daily limit.

    Committed spend = cents recorded today + what active jobs' reservations still hold. This only
    checks (nothing is held); a tool that queues a paid job uses :func:`reserve_spend` instead.
    ``estimate_cents``: the job's estimated cost in cents (>= 0, rounded up). Returns the cents left
    today after this job, or None when no limit is set. Raises :class:`SpendLimitExceeded` when
    estimate + committed > limit, and ValueError for a negative estimate.
    """
    estimate = _whole_cents(estimate_cents)
    limit = daily_limit().effective
    if limit is None:
        return None
    with get_engine().connect() as conn:
        today = _committed_cents(conn, utcnow())
    if today + estimate > limit:
        raise SpendLimitExceeded(estimate, today, limit)
    return limit - today - estimate


def reserve_spend(tool: str, estimate_cents: float, job_id: str | None = None) -> str:
    """Check the daily limit and hold ``estimate_cents`` for a paid job, in one serialised transaction.

    ``tool``: the job type that will record the cost (``character``, ``lora_train``, ``face_swap``...).
    ``estimate_cents``: the estimate in cents (>= 0, rounded up). ``job_id``: the job the reservation
    belongs to, or None when the job row is made afterwards (then :func:`attach_reservation`). Returns
    the reservation id. Raises :class:`SpendLimitExceeded` (nothing held) when the estimate plus today's
    committed spend (recorded + held by active jobs) would pass the limit; ValueError for a negative
    estimate. With no limit set the estimate is still held, so a limit set later sees running jobs.
    """
    return reserve_spend_many(tool, [estimate_cents], [job_id])[0]


def reserve_spend_many(tool: str, estimates_cents: Sequence[float],
                       job_ids: Sequence[str | None] | None = None, engine: Engine | None = None) -> list[str]:
    """Like :func:`reserve_spend` for several jobs at once, all or nothing: the limit is checked
    against the sum of ``estimates_cents`` (one reservation each). Returns the reservation ids.
    ``engine``: the catalog's database (default: ``media.db.get_engine()``)."""
    estimates = [_whole_cents(e) for e in estimates_cents]
    ids = list(job_ids) if job_ids is not None else [None] * len(estimates)
    if len(ids) != len(estimates):
        raise ValueError("one job id (or None) per estimate")
    if not estimates:
        return []
    limit = daily_limit().effective
    reservation_ids = [new_id() for _ in estimates]
    with _spend_transaction(engine) as conn:
        if limit is not None:
            today = _committed_cents(conn, utcnow())
            if today + sum(estimates) > limit:
                raise SpendLimitExceeded(sum(estimates), today, limit)
        for reservation_id, estimate, job_id in zip(reservation_ids, estimates, ids):
            conn.execute(insert(SpendReservation).values(id=reservation_id, tool=tool, job_id=job_id,
                                                         estimate_cents=estimate, status="held",
                                                         created_at=utcnow()))
    return reservation_ids


def attach_reservation(reservation_id: str, job_id: str) -> None:
    """Tie a reservation made before its job existed to job ``job_id``."""
    with get_engine().begin() as conn:
        conn.execute(update(SpendReservation).where(SpendReservation.id == reservation_id)
                     .values(job_id=job_id))


class SpendHold:
    """What :func:`spend_reservation` yields: the reservation id, and :meth:`attach` for the new job."""

    def __init__(self, reservation_id: str) -> None:
        self.reservation_id = reservation_id
        self.job_id: str | None = None

    def attach(self, job_id: str) -> None:
        """Tie the reservation to the job just created."""
        attach_reservation(self.reservation_id, job_id)
        self.job_id = job_id


@contextmanager
def spend_reservation(tool: str, estimate_cents: float) -> Iterator[SpendHold]:
    """Reserve ``estimate_cents`` (see :func:`reserve_spend`) around a paid job's submission.

    Inside the block create the job and call ``hold.attach(job.id)``; if the block raises, the
    reservation is released (the submission failed, nothing will be spent). Raises
    :class:`SpendLimitExceeded` on entry past the limit.
    """
    with spend_reservations(tool, [estimate_cents]) as holds:
        yield holds[0]


@contextmanager
def spend_reservations(tool: str, estimates_cents: Sequence[float]) -> Iterator[list[SpendHold]]:
    """:func:`spend_reservation` for several jobs submitted together (all or nothing, the limit checked
    against the sum); yields one :class:`SpendHold` per estimate."""
    holds = [SpendHold(rid) for rid in reserve_spend_many(tool, estimates_cents)]
    try:
        yield holds
    except BaseException:
        _end(col(SpendReservation.id).in_([h.reservation_id for h in holds]), "released", None)
        raise


def _end(where: Any, status: str, actual_cents: int | None, job_id: str | None = None,
         description: str = "") -> int:
    """Move held reservations matching ``where`` to ``status``; returns how many moved."""
    with _spend_transaction() as conn:
        if actual_cents is not None and job_id:
            job_type = conn.execute(select(SpendReservation.tool).where(where)).scalars().first() or "paid"
            conn.execute(insert(CostRecord).values(id=new_id(), job_id=job_id, job_type=job_type,
                                                   amount_cents=int(actual_cents), description=description,
                                                   created_at=utcnow()))
            conn.execute(update(Job).where(Job.id == job_id)
                         .values(cost_cents=Job.cost_cents + int(actual_cents)))
        settled = None
        if status == "settled" and job_id:
            settled = conn.execute(select(func.coalesce(func.sum(CostRecord.amount_cents), 0))
                                   .where(CostRecord.job_id == job_id)).scalar_one()
        result = conn.execute(update(SpendReservation)
                              .where(where, SpendReservation.status == "held")
                              .values(status=status, settled_cents=settled, ended_at=utcnow()))
        return result.rowcount or 0


def settle_reservation(job_id: str, actual_cents: int | None = None, description: str = "") -> int:
    """The paid job ``job_id`` completed: its reservation stops holding and records the real cost.

    With ``actual_cents`` None the real cost is what the job recorded (``media.job_store.record_cost``);
    with a number, that many cents are recorded now (one ``cost_records`` row, ``description``) in the
    same transaction. Returns how many reservations were settled (0 when the job had none).
    """
    return _end(SpendReservation.job_id == job_id, "settled",
                None if actual_cents is None else math.ceil(actual_cents), job_id, description)


def release_reservation(job_id: str) -> int:
    """The paid job ``job_id`` failed or was canceled: its reservation holds nothing any more.

    Costs the job already recorded (a billed call before the failure) stay recorded. Returns how many
    reservations were released.
    """
    return _end(SpendReservation.job_id == job_id, "released", None)


def end_job_reservation(job_id: str, status: str) -> None:
    """Settle (``completed``) or release (``failed``/``canceled``) the job's reservation, if any.

    Called by the job boundary; never raises (a failed write leaves a reservation whose job has ended,
    which counts nothing).
    """
    try:
        with get_engine().connect() as conn:  # most jobs are free: no write lock for them
            held = conn.execute(select(SpendReservation.id).where(SpendReservation.job_id == job_id,
                                                                  SpendReservation.status == "held")).first()
        if held is None:
            return
        if status == "completed":
            settle_reservation(job_id)
        else:
            release_reservation(job_id)
    except Exception:  # bookkeeping only: the held amount stops counting with the job
        log.warning("could not end the spend reservation of job %s", job_id, exc_info=True)


def reserve_again(job_id: str) -> str | None:
    """Before a retry of job ``job_id``: hold its last reservation's estimate again (limit checked).

    Returns the new reservation id, or None when the job never had one (a free job). Raises
    :class:`SpendLimitExceeded` when the retry would pass today's limit.
    """
    with session_scope() as session:
        last = session.exec(select(SpendReservation).where(SpendReservation.job_id == job_id)
                            .order_by(col(SpendReservation.created_at).desc())).first()
    if last is None:
        return None
    if last.status == "held":
        return last.id
    return reserve_spend(last.tool, last.estimate_cents, job_id)


def reserved_cents() -> int:
    """Cents held now by active paid jobs' reservations (beyond what they already recorded)."""
    with get_engine().connect() as conn:
        now = utcnow()
        return _committed_cents(conn, now) - spend_since(day_start(now))


# --- spend per day and per tool ---------------------------------------------------------------------

def _check_days(days: int) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS} (got {days!r})")
    return days


def cost_records(days: int = 30) -> list[CostRecord]:
    """Cost rows of the last ``days`` UTC days (today included), oldest first."""
    since = day_start() - timedelta(days=_check_days(days) - 1)
    with session_scope() as session:
        query = (select(CostRecord).where(CostRecord.created_at >= since)
                 .order_by(col(CostRecord.created_at)))
        return list(session.exec(query))


def costs(days: int = 30) -> list[dict[str, Any]]:
    """Spend per UTC day and per tool over the last ``days`` days (today included), oldest first.

    Returns ``[{"day": "2026-11-23", "tool": "lora_train", "cents": 450, "calls": 1}, ...]``; only
    days with spend appear. ``tool`` is the job type that recorded the cost. Raises ValueError when
    ``days`` is not 1..3660.
    """
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for record in cost_records(days):
        entry = totals[(record.created_at.date().isoformat(), record.job_type)]
        entry[0] += record.amount_cents
        entry[1] += 1
    return [{"day": day, "tool": tool, "cents": cents, "calls": calls}
            for (day, tool), (cents, calls) in sorted(totals.items())]


def costs_by_tool(days: int = 30) -> list[dict[str, Any]]:
    """Total cents per tool over the last ``days`` days, largest first: ``[{"tool", "cents", "calls"}]``."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in costs(days):
        totals[row["tool"]][0] += row["cents"]
        totals[row["tool"]][1] += row["calls"]
    return sorted(({"tool": t, "cents": c, "calls": n} for t, (c, n) in totals.items()),
                  key=lambda row: (-row["cents"], row["tool"]))


CSV_COLUMNS = ("created_at_utc", "day", "tool", "job_id", "amount_cents", "amount_usd", "description")


def write_costs_csv(days: int, path: Path) -> Path:
    """Write every cost row of the last ``days`` days to ``path`` as CSV (columns :data:`CSV_COLUMNS`)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for record in cost_records(days):
            writer.writerow([record.created_at.isoformat(timespec="seconds"),
                             record.created_at.date().isoformat(), record.job_type, record.job_id or "",
                             record.amount_cents, f"{record.amount_cents / 100:.2f}", record.description])
    return path


def export_costs_csv(days: int = 30) -> Path:
    """Write the CSV of the last ``days`` days into the media folder (``exports/``); returns its path."""
    _check_days(days)
    name = f"costs-{utcnow():%Y%m%d-%H%M%S}-{days}d"
    with store.work_dir("costs-") as work:
        tmp = write_costs_csv(days, work / "costs.csv")
        return store.commit_file(tmp, store.new_file_path("exports", name, ".csv"))


def limit_summary() -> dict[str, Any]:
    """Today's and this month's spend with the daily limit, as a dict (for the dashboard and the API)."""
    limit = daily_limit()
    today = spend_today()
    held = reserved_cents()
    return {"today_cents": today, "month_cents": spend_this_month(), "reserved_cents": held,
            "limit": asdict(limit),
            "left_today_cents": None if limit.effective is None else max(0, limit.effective - today - held)}
