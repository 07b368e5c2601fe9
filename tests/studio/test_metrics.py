"""``/metrics`` (Prometheus text format) on the UI server: read from the catalog and the queue, served by
``python launch.py --no-worker`` (which leaves the queue alone), behind the password when there is one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

import launch
from media.db import session_scope
from media.job_store import record_cost
from media.models import Job, utcnow
from studio.common import launch_blocks
from studio.mcp_auth import basic_header
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _add_jobs() -> None:
    now = utcnow()
    with session_scope() as session:
        for i, seconds in enumerate((1.5, 4.0, 40.0)):
            session.add(Job(type="variant", status="completed", started_at=now - timedelta(seconds=seconds),
                            completed_at=now, progress=100, id=f"done{i}"))
        session.add(Job(type="variant", status="queued", id="waiting"))
        session.add(Job(type="face_swap", status="failed", id="broken"))
        session.add(Job(type="lora_train", status="pending", id="later"))
    record_cost(None, "character", 42, "a Gemini sheet")
    record_cost(None, "character", 8, "another")


def _enqueue(count: int) -> None:
    from jobs.queue import create_huey

    queue = create_huey()

    @queue.task(name="metrics_probe_never_run")
    def never_run() -> None:  # pragma: no cover - nothing consumes it
        raise AssertionError("a --no-worker UI must not run tasks")

    for _ in range(count):
        never_run()
    queue.storage.close()


def test_a_ui_started_with_no_worker_serves_metrics_and_leaves_the_queue_alone(fresh_data_dir, monkeypatch):
    monkeypatch.delenv("NOVAI_QUEUE_IMMEDIATE", raising=False)
    _add_jobs()
    _enqueue(3)
    port = free_port()
    env = {**os.environ, "NOVAI_DATA_DIR": str(fresh_data_dir), "NOVAI_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "launch.py", "--no-worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        text = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            except httpx.TransportError:
                time.sleep(1)
                continue
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == CONTENT_TYPE_LATEST  # text/plain; version=...
            text = response.text
            break
        assert text is not None, f"the UI did not serve /metrics (exit code {proc.poll()})"
        time.sleep(3)  # a consumer, had one started, would have taken the tasks by now
        again = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        ui = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert ui.status_code == 200 and "NOVAI Studio" in ui.text  # the UI itself is served
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

    got = samples(text)
    assert got[("novai_catalog_up", ())] == 1 and got[("novai_queue_up", ())] == 1
    assert got[("novai_jobs", (("state", "completed"), ("type", "variant")))] == 3
    assert got[("novai_jobs", (("state", "queued"), ("type", "variant")))] == 1
    assert got[("novai_jobs", (("state", "pending"), ("type", "lora_train")))] == 1
    assert got[("novai_jobs", (("state", "failed"), ("type", "face_swap")))] == 1
    assert got[("novai_jobs", (("state", "canceled"), ("type", "variant")))] == 0
    assert got[("novai_jobs_active", ())] == 2
    assert got[("novai_queue_depth", ())] == 3 and again[("novai_queue_depth", ())] == 3
    variant = (("type", "variant"),)
    assert got[("novai_render_seconds_count", variant)] == 3
    assert got[("novai_render_seconds_sum", variant)] == pytest.approx(45.5, abs=0.5)
    assert got[("novai_render_seconds_bucket", (("le", "2.0"), ("type", "variant")))] == 1
    assert got[("novai_render_seconds_bucket", (("le", "5.0"), ("type", "variant")))] == 2
    assert got[("novai_render_seconds_bucket", (("le", "+Inf"), ("type", "variant")))] == 3
    assert got[("novai_spend_today_cents", ())] == 50


def test_worker_heartbeats_are_exposed_when_jobs_record_their_worker(fresh_data_dir):
    from jobs.metrics import render_metrics

    if "heartbeat_at" not in Job.model_fields:
        pytest.skip("job rows do not record their worker and heartbeat on this branch")
    beat = utcnow()
    with session_scope() as session:
        for i, worker in enumerate(("render-1:11", "render-1:11", "render-2:22")):
            session.add(Job(type="variant", status="processing", id=f"r{i}", worker=worker,
                            heartbeat_at=beat - timedelta(seconds=i)))
    got = samples(render_metrics().decode())
    assert got[("novai_worker_running_jobs", (("worker", "render-1:11"),))] == 2
    assert got[("novai_worker_running_jobs", (("worker", "render-2:22"),))] == 1
    assert got[("novai_worker_heartbeat_timestamp_seconds", (("worker", "render-1:11"),))] == \
        pytest.approx(beat.timestamp(), abs=0.01)


def test_metrics_need_the_studios_password_when_it_has_one(fresh_data_dir):
    import gradio as gr

    args = launch.parse_args(["--port", str(free_port())])
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    launch_blocks(demo, **launch.launch_options(args, ("ana", "pw"), str(fresh_data_dir), 10),
                prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{args.port}/metrics"
        refused = httpx.get(url, timeout=20)
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        assert httpx.get(url, headers={"Authorization": basic_header("ana", "wrong")}, timeout=20).status_code == 401
        allowed = httpx.get(url, headers={"Authorization": basic_header("ana", "pw")}, timeout=20)
        assert allowed.status_code == 200 and "novai_jobs_active" in allowed.text
    finally:
        demo.close()


def test_a_catalog_that_does_not_answer_is_said_not_raised(fresh_data_dir, monkeypatch):
    from jobs import metrics

    def down():
        raise OSError("connection refused")

    monkeypatch.setattr(metrics, "get_engine", down)
    got = samples(metrics.render_metrics().decode())
    assert got[("novai_catalog_up", ())] == 0
    assert not any(name == "novai_jobs" for name, _labels in got)
