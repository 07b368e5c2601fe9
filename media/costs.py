"""Spend on paid cloud calls: per day and per tool, CSV export, and the daily spending limit.

Every paid call writes a ``cost_records`` row (``media.job_store.record_cost``). Days are UTC days,
like every time in the catalog. The daily limit comes from ``DAILY_COST_LIMIT_CENTS`` (the environment)
and from Settings (saved in ``<data_dir>/preferences.json``); when both are set the lower one applies,
so the UI can tighten the limit but never loosen what the environment sets. No limit set: no limit.

A paid tool calls :func:`check_spend_limit` with its estimate before it queues anything.
"""

from __future__ import annotations

from media.errors import StudioError

import csv
import json
import math
import os
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from media import store
from media.db import session_scope
from media.job_store import spend_since
from media.models import CostRecord, utcnow
from media.settings import get_settings

PREFERENCES_FILE_NAME = "preferences.json"
LIMIT_KEY = "daily_cost_limit_cents"
MAX_DAYS = 3660


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


def _read_preferences() -> dict[str, Any]:
    try:
        data = json.loads(_preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_preferences(data: dict[str, Any]) -> None:
    path = _preferences_path()
    fd, tmp = tempfile.mkstemp(prefix=".preferences-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


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
            raise ValueError(f"daily limit must be a whole number of cents, 0 or more (got {cents})")
        cents = int(cents)
    data = _read_preferences()
    if cents is None:
        data.pop(LIMIT_KEY, None)
    else:
        data[LIMIT_KEY] = cents
    _write_preferences(data)
    return daily_limit()


def check_spend_limit(estimate_cents: int) -> int | None:
    """Refuse a paid job whose estimate plus today's spend would pass the daily limit.

    ``estimate_cents``: the job's estimated cost in cents (>= 0). Returns the cents left today after
    this job, or None when no limit is set. Raises :class:`SpendLimitExceeded` (a ValueError whose
    message gives the estimate, today's spend and the limit) when estimate + today > limit, and
    ValueError for a negative estimate. Call it before queueing anything.
    """
    if estimate_cents < 0:
        raise ValueError(f"cost estimate must be 0 or more cents (got {estimate_cents})")
    estimate_cents = math.ceil(estimate_cents)  # a fractional estimate counts as the next whole cent
    limit = daily_limit().effective
    if limit is None:
        return None
    today = spend_today()
    if today + estimate_cents > limit:
        raise SpendLimitExceeded(estimate_cents, today, limit)
    return limit - today - estimate_cents


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
    return {"today_cents": today, "month_cents": spend_this_month(),
            "limit": asdict(limit),
            "left_today_cents": None if limit.effective is None else max(0, limit.effective - today)}
