"""The daily limit holds paid jobs' estimates from submission until the job ends (media/costs.py).

Issue 10: the check counted only finished cost records, so with a 10 cent limit three 7 cent Gemini
characters (two at the same instant, one while they ran) were all accepted. These tests race real
threads and real processes on a real SQLite catalog file.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlmodel import select

from jobs.runner import run_job
from media import costs, job_store, library
from media.db import session_scope
from media.models import Job, SpendReservation


def _reservations(job_id: str) -> list[SpendReservation]:
    with session_scope() as session:
        return list(session.exec(select(SpendReservation).where(SpendReservation.job_id == job_id)))


def test_threads_at_the_same_instant_cannot_pass_the_limit_together(fresh_data_dir):
    costs.set_daily_limit(10)
    costs.check_spend_limit(0)  # the catalog exists before the race (creating tables is not the subject)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            costs.reserve_spend("character", 3)
            outcomes.append("accepted")
        except costs.SpendLimitExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 5  # 3 x 3 cents fit in 10, a 4th does not


@pytest.mark.slow
def test_two_processes_submitting_gemini_characters_at_once_cannot_both_pass(fresh_data_dir, samples):
    from tests.procs import submit_gemini_character

    outcome = library.import_file(samples / "photos" / "obama.jpg", "image")
    assert outcome.error is None, outcome.error
    costs.set_daily_limit(10)  # a Gemini character is estimated at 7 cents
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=submit_gemini_character, args=(str(fresh_data_dir), outcome.id, barrier, results))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    answers = sorted(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert [a.split()[0] for a in answers] == ["accepted", "refused"], answers
    assert "today's spend is $0.07 (7¢)" in answers[1]  # the other process's held estimate counts
    # A third submission while the accepted one is still queued is refused too.
    with pytest.raises(costs.SpendLimitExceeded):
        costs.reserve_spend("character", 7)
    with session_scope() as session:
        assert len(session.exec(select(Job)).all()) == 1


def test_a_held_estimate_counts_until_its_job_ends_then_settles_to_the_real_cost(fresh_data_dir):
    costs.set_daily_limit(100)
    job = job_store.create_job("character")
    costs.reserve_spend("character", 60, job.id)
    assert costs.limit_summary()["reserved_cents"] == 60
    with pytest.raises(costs.SpendLimitExceeded, match=r"today's spend is \$0\.60"):
        costs.check_spend_limit(41)

    def work() -> dict:
        job_store.record_cost(job.id, "character", 45, "the real price")
        assert costs.limit_summary()["reserved_cents"] == 15  # recorded cents are not counted twice
        return {}

    assert run_job(job.id, work) == "completed"
    [reservation] = _reservations(job.id)
    assert (reservation.status, reservation.settled_cents) == ("settled", 45)
    assert costs.limit_summary()["reserved_cents"] == 0
    assert costs.check_spend_limit(55) == 0  # 45 spent, 55 left


@pytest.mark.parametrize("outcome", ["failed", "canceled"])
def test_a_failed_or_canceled_job_releases_its_estimate(fresh_data_dir, outcome):
    costs.set_daily_limit(10)
    job = job_store.create_job("character")
    costs.reserve_spend("character", 7, job.id)
    with pytest.raises(costs.SpendLimitExceeded):
        costs.reserve_spend("character", 7)

    def work() -> dict:
        if outcome == "canceled":
            job_store.cancel_job(job.id)
            job_store.report_progress(job.id, 50)
        raise RuntimeError("provider down")

    assert run_job(job.id, work) == outcome
    assert _reservations(job.id)[0].status == "released"
    costs.reserve_spend("character", 7)  # the limit is free again


def test_a_job_ended_elsewhere_stops_holding_even_if_nobody_released_it(fresh_data_dir):
    """A worker killed mid-job: recovery fails the row; the reservation must not hold the limit forever."""
    costs.set_daily_limit(10)
    job = job_store.create_job("lora_train")
    costs.reserve_spend("lora_train", 10, job.id)
    with pytest.raises(costs.SpendLimitExceeded):
        costs.check_spend_limit(1)
    job_store.fail_job(job.id, "interrupted")
    assert costs.check_spend_limit(10) == 0


def test_a_failed_submission_releases_the_hold(fresh_data_dir):
    costs.set_daily_limit(10)
    with pytest.raises(OSError), costs.spend_reservation("character", 7):
        raise OSError("disk full while creating the job")
    assert costs.check_spend_limit(10) == 0


def test_retry_of_a_paid_job_holds_its_estimate_again(fresh_data_dir):
    from jobs.character_tasks import character_task  # noqa: F401  (registers the task for retry)
    from jobs.runner import retry_job

    costs.set_daily_limit(10)
    job = job_store.create_job("character", {"character_id": "gone"})
    costs.reserve_spend("character", 7, job.id)
    job_store.fail_job(job.id, "provider down")
    costs.release_reservation(job.id)
    costs.reserve_spend("character", 5)  # someone else used the room meanwhile
    with pytest.raises(costs.SpendLimitExceeded):
        retry_job(job.id)
    assert job_store.get_job(job.id).status == "failed"


def test_settle_with_an_actual_amount_records_it(fresh_data_dir):
    job = job_store.create_job("face_swap")
    costs.reserve_spend("face_swap", 50, job.id)
    costs.settle_reservation(job.id, 42.2, "fal swap, 4.2 s")
    assert job_store.get_job(job.id).cost_cents == 43
    assert costs.spend_today() == 43
    assert _reservations(job.id)[0].settled_cents == 43
