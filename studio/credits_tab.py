"""Credits tab: spend per day and per tool (chart and tables), CSV export, the daily limit in force."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from media import costs as media_costs
from media import validate
from studio.common import api
from studio.page_open import on_page_open

TITLE = "Credits"

DAY_CHOICES = [7, 30, 90, 365]
DAILY_HEADERS = ["Day (UTC)", "Tool", "Spend (USD)", "Cents", "Calls"]
TOOL_HEADERS = ["Tool", "Spend (USD)", "Cents", "Calls"]


def costs(days: int = 30) -> list[dict]:
    """Spend per UTC day and per tool over the last ``days`` days (see docs/API.md)."""
    return media_costs.costs(validate.whole_number(days, "days", 1, validate.COST_DAYS_MAX))


def chart_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The bar chart's data: one row per day and tool, amounts in dollars."""
    return pd.DataFrame({"day": [r["day"] for r in rows], "tool": [r["tool"] for r in rows],
                         "usd": [r["cents"] / 100 for r in rows]}, columns=["day", "tool", "usd"])


def summary_markdown(days: int, rows: list[dict[str, Any]]) -> str:
    """Totals over the window, today and this month, and the daily limit in force."""
    summary = media_costs.limit_summary()
    total = sum(r["cents"] for r in rows)
    limit = summary["limit"]
    limit_text = "none set" if limit["effective"] is None else media_costs.format_cents(limit["effective"])
    return (f"**Last {days} days:** {media_costs.format_cents(total)} · "
            f"**today:** {media_costs.format_cents(summary['today_cents'])} · "
            f"**this month:** {media_costs.format_cents(summary['month_cents'])} · "
            f"**daily limit:** {limit_text}")


def show(days: int) -> tuple[str, dict[str, Any], list[list[Any]], list[list[Any]]]:
    """Summary, chart update, per-day table and per-tool table for the chosen window.

    Without spend in the window the chart is hidden and the summary says so (an empty plot draws a
    colour legend of no values, shown as "NaN").
    """
    days = int(days)
    rows = media_costs.costs(days)
    daily = [[r["day"], r["tool"], f"{r['cents'] / 100:.2f}", r["cents"], r["calls"]] for r in rows]
    tools = [[t["tool"], f"{t['cents'] / 100:.2f}", t["cents"], t["calls"]]
             for t in media_costs.costs_by_tool(days)]
    summary = summary_markdown(days, rows)
    if not rows:
        summary += f"\n\nNo spend recorded in the last {days} days: the chart appears once a paid job costs something."
    return summary, gr.update(value=chart_frame(rows), visible=bool(rows)), daily, tools


def export(days: int) -> gr.File:
    """Write the CSV of every cost row in the window and show it (served from the media folder)."""
    return gr.File(value=str(media_costs.export_costs_csv(int(days))), visible=True)


def build() -> None:
    """Lay out the tab and register the ``costs`` API endpoint."""
    with gr.Row():
        days = gr.Dropdown(DAY_CHOICES, value=30, label="Days", scale=0, min_width=120,
                           elem_id="credits-days")
        refresh = gr.Button("Refresh", size="sm", scale=0)
        export_button = gr.Button("Export CSV", size="sm", scale=0, elem_id="credits-export")
    summary = gr.Markdown(elem_id="credits-summary")
    chart = gr.BarPlot(chart_frame([]), x="day", y="usd", color="tool", y_title="USD", x_title="Day (UTC)",
                       y_aggregate="sum", label="Spend per day and tool", visible=False, elem_id="credits-chart")
    with gr.Row():
        daily = gr.Dataframe(headers=DAILY_HEADERS, label="Per day and tool", interactive=False, scale=3)
        tools = gr.Dataframe(headers=TOOL_HEADERS, label="Per tool", interactive=False, scale=2)
    csv_file = gr.File(label="CSV export", interactive=False, visible=False, elem_id="credits-csv")
    outputs = [summary, chart, daily, tools]
    days.change(show, inputs=days, outputs=outputs, api_visibility="private")
    refresh.click(show, inputs=days, outputs=outputs, api_visibility="private")
    export_button.click(export, inputs=days, outputs=csv_file, api_visibility="private")
    on_page_open(show, days, outputs)
    api(costs, "costs")
