"""Dashboard, Credits and Settings tabs: their functions on real rows, and the stats/costs API."""

from __future__ import annotations

import stat

import pytest

from media import costs, keys
from media.job_store import create_job, record_cost, report_progress, start_job
from studio import credits_tab, dashboard_tab, settings_tab
from studio.common import launch_blocks
from tests.serving import free_port


def test_settings_save_key_never_returns_it(fresh_data_dir):
    box, line, message = settings_tab.save_key("fal", "fal-fake-key-abcdef123456")
    assert box == "" and message.startswith("Key saved")
    assert "fal-fake-key" not in line and "••••••••3456" in line and "saved here" in line
    assert stat.S_IMODE((fresh_data_dir / "catalog.sqlite3").stat().st_mode) == 0o600
    assert keys.read_saved_keys() == {"fal": "fal-fake-key-abcdef123456"}
    box, line, message = settings_tab.save_key("fal", "")
    assert message == "Not saved: no fal.ai key entered"
    line, message = settings_tab.forget_key("fal")
    assert "not set" in line


def test_settings_tables_never_show_keys(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("FAL_KEY", "env-fal-key-should-not-show")
    from media.settings import get_settings, reset_settings

    reset_settings()
    tables = settings_tab.refresh_tables()
    text = repr(tables)
    assert "env-fal-key" not in text and "fal_key" not in text and "gemini_api_key" not in text
    output = {row[0]: row for row in tables[0]}
    assert output["output_crf"][1] == str(get_settings().output_crf)
    assert output["output_crf"][2] == "NOVAI_OUTPUT_CRF"
    general = {row[0]: row for row in tables[3]}
    assert general["daily_cost_limit_cents"][2] == "DAILY_COST_LIMIT_CENTS"
    assert settings_tab.settings_group("faceswap_price_cents") == "prices"
    assert settings_tab.settings_group("swap_provider") == "providers"


def test_price_tables_get_one_row_per_entry():
    from pydantic import Field
    from pydantic_settings import SettingsConfigDict

    from media.settings import Settings

    class WithPrices(Settings):  # the shape the paid tools add to the settings
        model_config = SettingsConfigDict(env_prefix="NOVAI_", env_file=None, extra="ignore")
        demo_price_cents: dict[str, dict[str, float | str]] = Field(
            default_factory=lambda: {"fal-ai/x": {"usd_per_unit": 0.0045, "unit": "step"}, "m": {"c": 7}},
            description="price table")

    rows = [row for row in settings_tab.settings_rows(WithPrices(), "prices") if row[0].startswith("demo_")]
    assert rows == [["demo_price_cents[fal-ai/x]", "usd_per_unit: 0.0045, unit: step", "NOVAI_DEMO_PRICE_CENTS",
                     "price table"],
                    ["demo_price_cents[m]", "c: 7.0", "NOVAI_DEMO_PRICE_CENTS", "price table"]]


def test_fake_key_and_low_limit_refuse_a_paid_submission(fresh_data_dir):
    settings_tab.save_key("fal", "fal-fake-key-abcdef123456")
    status = settings_tab.save_limit("$1.00")
    assert "**In force:** $1.00 (100¢)" in status
    record_cost(None, "lora_train", 80, "earlier today")
    with pytest.raises(costs.SpendLimitExceeded) as caught:
        costs.check_spend_limit(45)  # what a paid tool's submit function calls before queueing
    assert "estimated at $0.45 (45¢), today's spend is $0.80 (80¢) and the daily limit is $1.00 (100¢)" \
        in str(caught.value)
    assert "Not saved: the daily limit must be 0 or more" in settings_tab.save_limit("-3")
    assert "Not saved: not an amount in dollars" in settings_tab.save_limit("five")
    assert "$1.00 (100¢)" in settings_tab.limit_markdown()  # a refused entry changes nothing
    box, status = settings_tab.clear_limit()
    assert box == "" and "no limit" in status
    assert costs.check_spend_limit(45) is None


def test_dashboard_view_functions(fresh_data_dir):
    job = create_job("face_swap")
    start_job(job.id)
    report_progress(job.id, 30, "swapping frame 30/100")
    html, spend, active, recent, timer = dashboard_tab.refresh_live()
    assert 'data-kind="videos"><div class="novai-card-n">0</div>' in html
    assert active == [[job.id[:8], "face_swap", "processing", 30, "swapping frame 30/100", active[0][5]]]
    assert recent == []
    assert timer.value == dashboard_tab.FAST_TICK_S
    assert "none set" in spend
    storage = dashboard_tab.refresh_storage()
    assert storage[-1][0] == "Total media folder"


def test_credits_show_and_export(fresh_data_dir):
    record_cost(None, "character", 7, "diagram")
    record_cost(None, "character", 5, "diagram")
    summary, chart, daily, tools = credits_tab.show(7)
    assert "$0.12 (12¢)" in summary and "No spend" not in summary
    frame = chart["value"]
    assert chart["visible"] is True
    assert list(frame.columns) == ["day", "tool", "usd"] and frame["usd"].tolist() == [0.12]
    assert daily[0][1:] == ["character", "0.12", 12, 2]
    assert tools == [["character", "0.12", 12, 2]]
    update = credits_tab.export(7)
    assert update.visible is True
    assert update.value["path"].endswith("-7d.csv")
    (exported,) = (fresh_data_dir / "media" / "exports").iterdir()
    assert "diagram" in exported.read_text()


def test_credits_without_spend_hide_the_chart(fresh_data_dir):
    summary, chart, daily, tools = credits_tab.show(30)
    assert chart["visible"] is False  # an empty plot draws a "NaN" colour legend
    assert "No spend recorded in the last 30 days" in summary
    assert daily == [] and tools == []


def test_stats_and_costs_api_through_gradio_client(fresh_data_dir):
    import gradio as gr
    from gradio_client import Client

    record_cost(None, "lora_train", 450, "100 steps")
    with gr.Blocks() as demo:
        with gr.Tab("Dashboard"):
            dashboard_tab.build()
        with gr.Tab("Credits"):
            credits_tab.build()
        with gr.Tab("Settings"):
            settings_tab.build()
    port = free_port()
    launch_blocks(demo, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict(api_name="/stats")
        assert result["counts"]["videos"] == 0 and result["spend"]["today_cents"] == 450
        rows = client.predict(days=7, api_name="/costs")
        assert [(r["tool"], r["cents"], r["calls"]) for r in rows] == [("lora_train", 450, 1)]
        names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        # key saving, connection tests etc. are not API endpoints; the provider registry's list is (read-only)
        assert names == {"/stats", "/costs", "/list_providers"}
    finally:
        demo.close()


@pytest.mark.parametrize("text, cents", [("5", 500), ("$5.25", 525), (" 1,000.5 ", 100050), ("", None),
                                         (2.5, 250), ("0", 0)])
def test_parse_dollars(text, cents):
    assert settings_tab.parse_dollars(text) == cents


@pytest.mark.parametrize("text", ["nan", "inf", "-1", "5 dollars"])
def test_parse_dollars_refuses(text):
    with pytest.raises(ValueError):
        settings_tab.parse_dollars(text)


def test_dashboard_cards_escape_and_break_down_videos():
    html = dashboard_tab.counts_html({"videos": 3, "hooks": 30}, {"source": 1, "variant": 1, "face_swapped": 1})
    assert '<div class="novai-card-n">3</div><div class="novai-card-label">Videos</div>' in html
    assert "1 face-swapped · 1 source · 1 variant" in html
    assert '<div class="novai-card-n">30</div><div class="novai-card-label">Hooks</div>' in html


def test_the_tools_price_tables_are_shown(fresh_data_dir, monkeypatch):
    # read from the provider registry (jobs/providers), with the overriding variable of each
    rows = {row[0]: row for row in settings_tab.refresh_tables()[2]}
    assert rows["lora/fal"][1].startswith("45¢ for 100 steps, then 0.45¢/step")
    assert rows["lora/fal"][2] == "NOVAI_FAL_PRICES"
    assert rows["swap/fal"][1].startswith("10¢/second") and rows["swap/fal"][2] == "NOVAI_SWAP_PRICE_CENTS_PER_SECOND"
    assert rows["character/gemini"][1].startswith("7¢/image")
    assert "swap/local" not in rows  # free providers have no price row
    # an override in the environment is the price in force, and its setting row shows too
    monkeypatch.setenv("NOVAI_SWAP_PRICE_CENTS_PER_SECOND", '{"fal": 7.5}')
    from media.settings import reset_settings

    reset_settings()
    rows = {row[0]: row for row in settings_tab.refresh_tables()[2]}
    assert rows["swap/fal"][1] == "7.5¢/second (settings override)"
    assert rows["swap_price_cents_per_second[fal]"][1] == "7.5"
