"""The studio's Prometheus metrics, read from the catalog and the queue when they are scraped.

Every figure comes from the shared state (catalog rows, the Huey queue), not from counters kept in one
process, so the UI's ``/metrics`` tells the whole farm: jobs that workers on other machines run, their
heartbeats, their render times. Served by ``launch.py`` at ``/metrics`` in the Prometheus text format
(``prometheus_client``; https://prometheus.io/docs/instrumenting/exposition_formats/).

Metrics (all ``novai_`` prefixed):

- ``novai_jobs{state, type}``: jobs in the catalog by state (pending ... canceled) and type;
- ``novai_queue_depth``: tasks waiting in the queue; ``novai_queue_scheduled``: tasks scheduled later;
- ``novai_worker_heartbeat_timestamp_seconds{worker}``: the newest heartbeat of each worker's running
  jobs (Unix time); ``novai_worker_running_jobs{worker}``: how many it runs (when the catalog records
  ownership: ``jobs.worker`` / ``jobs.heartbeat_at``);
- ``novai_render_seconds{type}``: histogram of run time (``completed_at - started_at``, seconds) of the
  completed jobs in the catalog;
- ``novai_spend_today_cents``: cents recorded since midnight UTC; ``novai_daily_limit_cents``: the limit
  that applies (absent when none);
- ``novai_catalog_up``: 1 when the catalog answered, 0 when it did not (the other catalog figures are then
  left out); ``novai_queue_up`` likewise for the queue.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from media.db import get_engine
from media.models import ACTIVE_JOB_STATUSES, ALL_JOB_STATUSES, Job

log = logging.getLogger(__name__)

RENDER_SECONDS_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
"""Upper bounds (seconds) of the render-time histogram's buckets (+Inf is added)."""


def _job_counts(conn) -> dict[tuple[str, str], int]:
    rows = conn.execute(select(Job.status, Job.type, func.count()).group_by(Job.status, Job.type)).all()
    return {(status, job_type): int(count) for status, job_type, count in rows}


def _heartbeats(conn) -> dict[str, tuple[float, int]]:
    """{worker: (newest heartbeat as Unix seconds, running jobs)} from the job rows' ownership columns."""
    worker = getattr(Job, "worker", None)
    heartbeat = getattr(Job, "heartbeat_at", None)
    if worker is None or heartbeat is None:
        return {}
    rows = conn.execute(select(worker, func.max(heartbeat), func.count())
                        .where(Job.status == "processing", worker.is_not(None)).group_by(worker)).all()
    return {name: (newest.timestamp() if newest is not None else 0.0, int(count))
            for name, newest, count in rows}


def _render_seconds(conn) -> dict[str, list[float]]:
    rows = conn.execute(select(Job.type, Job.started_at, Job.completed_at).where(
        Job.status == "completed", Job.started_at.is_not(None), Job.completed_at.is_not(None))).all()
    seconds: dict[str, list[float]] = defaultdict(list)
    for job_type, started, completed in rows:
        if started.tzinfo is None or completed.tzinfo is None:  # SQLite hands back naive UTC
            started, completed = started.replace(tzinfo=None), completed.replace(tzinfo=None)
        seconds[job_type].append(max(0.0, (completed - started).total_seconds()))
    return seconds


def _histogram(values: list[float]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative ``(le, count)`` buckets over :data:`RENDER_SECONDS_BUCKETS` and +Inf, and the sum."""
    counts = Counter()
    for value in values:
        for bound in RENDER_SECONDS_BUCKETS:
            if value <= bound:
                counts[bound] += 1
                break
    buckets, running = [], 0
    for bound in RENDER_SECONDS_BUCKETS:
        running += counts[bound]
        buckets.append((str(float(bound)), running))
    buckets.append(("+Inf", len(values)))
    return buckets, sum(values)


class StudioCollector(Collector):
    """Collects the metrics of the module docstring at each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from self._catalog_metrics()
        yield from self._queue_metrics()

    def _catalog_metrics(self) -> Iterator[Metric]:
        from media import costs

        up = GaugeMetricFamily("novai_catalog_up", "1 when the catalog answered this scrape, else 0")
        try:
            with get_engine().connect() as conn:
                counts = _job_counts(conn)
                heartbeats = _heartbeats(conn)
                render = _render_seconds(conn)
            spend = costs.spend_today()
            limit = costs.daily_limit().effective
        except Exception as exc:  # noqa: BLE001 - a scrape says the catalog is down rather than failing
            log.warning("metrics: the catalog did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        jobs = GaugeMetricFamily("novai_jobs", "Jobs in the catalog by state and type", labels=["state", "type"])
        types = sorted({job_type for _state, job_type in counts})
        for job_type in types:
            for state in ALL_JOB_STATUSES:  # every state of a known type, zeros included
                jobs.add_metric([state, job_type], counts.get((state, job_type), 0))
        yield jobs
        active = GaugeMetricFamily("novai_jobs_active", "Jobs pending, queued or processing (all types)")
        active.add_metric([], sum(n for (state, _t), n in counts.items() if state in ACTIVE_JOB_STATUSES))
        yield active

        beat = GaugeMetricFamily("novai_worker_heartbeat_timestamp_seconds",
                                 "Newest heartbeat of each worker's running jobs, Unix time", labels=["worker"])
        running = GaugeMetricFamily("novai_worker_running_jobs", "Jobs each worker is running",
                                    labels=["worker"])
        for worker, (newest, count) in sorted(heartbeats.items()):
            beat.add_metric([worker], newest)
            running.add_metric([worker], count)
        yield beat
        yield running

        histogram = HistogramMetricFamily("novai_render_seconds",
                                          "Run time of completed jobs (completed_at - started_at), seconds",
                                          labels=["type"])
        for job_type, values in sorted(render.items()):
            buckets, total = _histogram(values)
            histogram.add_metric([job_type], buckets, total)
        yield histogram

        spent = GaugeMetricFamily("novai_spend_today_cents", "Cents recorded since midnight UTC")
        spent.add_metric([], spend)
        yield spent
        if limit is not None:
            limit_metric = GaugeMetricFamily("novai_daily_limit_cents", "The daily spending limit that applies")
            limit_metric.add_metric([], limit)
            yield limit_metric

    def _queue_metrics(self) -> Iterator[Metric]:
        from jobs.queue import huey

        up = GaugeMetricFamily("novai_queue_up", "1 when the queue answered this scrape, else 0")
        try:
            depth, scheduled = huey.pending_count(), huey.scheduled_count()
        except Exception as exc:  # noqa: BLE001 - as for the catalog
            log.warning("metrics: the queue did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue_depth = GaugeMetricFamily("novai_queue_depth", "Tasks waiting in the queue")
        queue_depth.add_metric([], depth)
        yield queue_depth
        later = GaugeMetricFamily("novai_queue_scheduled", "Tasks scheduled to run later (retries, delays)")
        later.add_metric([], scheduled)
        yield later


def studio_registry() -> CollectorRegistry:
    """A registry holding only :class:`StudioCollector` (no process metrics of the UI process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return registry


def render_metrics(registry: CollectorRegistry | None = None) -> bytes:
    """The metrics in the Prometheus text format (``prometheus_client.CONTENT_TYPE_LATEST``), as bytes."""
    return generate_latest(registry or studio_registry())
