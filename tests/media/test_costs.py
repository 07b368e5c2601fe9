"""Spend per day and tool, the CSV export and the daily spending limit."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from media import costs
from media.db import session_scope
from media.job_store import create_job, record_cost
from media.models import CostRecord, utcnow


def _cost(job_type: str, cents: int, days_ago: int = 0, description: str = "") -> None:
    when = utcnow() - timedelta(days=days_ago)
    if days_ago == 0:
        when = max(when, costs.day_start())
    with session_scope() as session:
        session.add(CostRecord(job_type=job_type, amount_cents=cents, description=description,
                               created_at=when))


def test_no_limit_set_means_no_limit(fresh_data_dir):
    _cost("lora_train", 10_000)
    assert costs.daily_limit().effective is None
    assert costs.check_spend_limit(1_000_000) is None


def test_over_the_limit_is_refused_with_the_numbers(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("DAILY_COST_LIMIT_CENTS", "500")
    from media.settings import reset_settings

    reset_settings()
    job = create_job("lora_train")
    record_cost(job.id, "lora_train", 450, "Wan 2.2 LoRA, 100 steps")
    _cost("face_swap", 900, days_ago=2)  # an older day does not count towards today
    assert costs.check_spend_limit(50) == 0  # exactly at the limit is allowed
    with pytest.raises(costs.SpendLimitExceeded) as caught:
        costs.check_spend_limit(51)
    message = str(caught.value)
    assert "$0.51 (51¢)" in message and "$4.50 (450¢)" in message and "$5.00 (500¢)" in message
    assert "Nothing was queued" in message
    assert (caught.value.estimate_cents, caught.value.today_cents, caught.value.limit_cents) == (51, 450, 500)


def test_fractional_estimate_rounds_up_and_negative_is_refused(fresh_data_dir):
    costs.set_daily_limit(100)
    assert costs.check_spend_limit(99.2) == 0
    with pytest.raises(costs.SpendLimitExceeded):
        costs.check_spend_limit(100.01)
    with pytest.raises(ValueError, match="0 or more"):
        costs.check_spend_limit(-1)


def test_settings_limit_applies_and_can_only_tighten_the_environment(fresh_data_dir, monkeypatch):
    _cost("character", 300)
    limit = costs.set_daily_limit(250)
    assert (limit.environment, limit.ui, limit.effective) == (None, 250, 250)
    with pytest.raises(costs.SpendLimitExceeded, match=r"\$2.50 \(250¢\)"):
        costs.check_spend_limit(1)
    monkeypatch.setenv("DAILY_COST_LIMIT_CENTS", "200")
    from media.settings import reset_settings

    reset_settings()
    assert costs.set_daily_limit(10_000).effective == 200  # the UI cannot loosen the environment
    assert costs.set_daily_limit(None) == costs.DailyLimit(200, None, 200)
    with pytest.raises(ValueError, match="whole number of cents"):
        costs.set_daily_limit(-5)


def test_the_limit_is_kept_in_the_catalog_and_an_older_preferences_file_moves_there(fresh_data_dir):
    import json

    from media.stored_settings import read_setting

    costs.set_daily_limit(321)
    assert read_setting(costs.PREFERENCES_SETTING) == {costs.LIMIT_KEY: 321}
    assert not (fresh_data_dir / costs.PREFERENCES_FILE_NAME).exists()
    (fresh_data_dir / costs.PREFERENCES_FILE_NAME).write_text(json.dumps({costs.LIMIT_KEY: 99, "other": 1}))
    assert costs.daily_limit().ui == 321  # the catalog's value wins; the file's other entries are kept
    assert read_setting(costs.PREFERENCES_SETTING) == {costs.LIMIT_KEY: 321, "other": 1}
    assert not (fresh_data_dir / costs.PREFERENCES_FILE_NAME).exists()


def test_costs_per_day_and_tool(fresh_data_dir):
    _cost("lora_train", 450)
    _cost("lora_train", 45)
    _cost("character", 7)
    _cost("face_swap", 120, days_ago=3)
    _cost("face_swap", 999, days_ago=40)  # outside a 30-day window
    today = costs.day_start().date().isoformat()
    three = (costs.day_start() - timedelta(days=3)).date().isoformat()
    assert costs.costs(30) == [
        {"day": three, "tool": "face_swap", "cents": 120, "calls": 1},
        {"day": today, "tool": "character", "cents": 7, "calls": 1},
        {"day": today, "tool": "lora_train", "cents": 495, "calls": 2},
    ]
    assert costs.costs(1) == costs.costs(30)[1:]
    assert costs.costs_by_tool(60)[0] == {"tool": "face_swap", "cents": 1119, "calls": 2}
    assert costs.spend_today() == 502
    with pytest.raises(ValueError, match="days must be"):
        costs.costs(0)


def test_csv_export_lists_every_cost_row(fresh_data_dir):
    _cost("lora_train", 450, description="Wan 2.2 LoRA, 100 steps")
    _cost("character", 7, days_ago=1, description='diagram "Ana", 1 image')
    path = costs.export_costs_csv(7)
    assert path.is_file() and path.parent.name == "exports"
    assert str(path).startswith(str(fresh_data_dir / "media"))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["tool"] for r in rows] == ["character", "lora_train"]
    assert rows[0]["description"] == 'diagram "Ana", 1 image'
    assert rows[1]["amount_cents"] == "450" and rows[1]["amount_usd"] == "4.50"
    assert list(rows[0]) == list(costs.CSV_COLUMNS)
    assert not any((fresh_data_dir / "media" / "tmp").iterdir())
