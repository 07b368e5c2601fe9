"""Dashboard tab: library counts, storage per kind, active and recent jobs, spend; refreshes itself.

Numbers come from ``media.stats`` / ``media.costs``. Counts, jobs and spend refresh every few seconds
(faster while jobs run); storage (a walk over the media folder) every 30 s and on "Refresh".
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from media import costs as media_costs
from media import stats as media_stats
from studio.common import api
from studio.page_open import on_page_open

TITLE = "Dashboard"

FAST_TICK_S = 2.0
IDLE_TICK_S = 6.0
STORAGE_TICK_S = 30.0
KIND_LABELS = {"videos": "Videos", "variants": "Batch variants", "audios": "Audio files", "hooks": "Hooks", "images": "Images",
               "models": "LoRA models", "characters": "Characters", "other": "Other (zips, caches, work)",
               "total": "Total media folder"}
ACTIVE_HEADERS = ["Job", "Type", "Status", "Progress %", "Step", "Created (UTC)"]
RECENT_HEADERS = ["Job", "Type", "Status", "Finished (UTC)", "Cost", "Error"]
STORAGE_HEADERS = ["Kind", "Size", "Bytes"]


def stats() -> dict:
    """Dashboard numbers (see docs/API.md): counts, storage bytes per kind, jobs, spend."""
    return media_stats.collect_stats()


CARDS_CSS = """<style>
.novai-cards {display:flex; flex-wrap:wrap; gap:12px}
.novai-card {min-width:130px; padding:12px 16px; border:1px solid var(--border-color-primary);
  border-radius:10px; background:var(--block-background-fill)}
.novai-card-n {font-size:1.8em; font-weight:700}
.novai-card-label {opacity:0.8}
.novai-card-sub {opacity:0.6; font-size:0.85em}
</style>"""


def counts_html(counts: dict[str, int], videos_by_type: dict[str, int] | None = None) -> str:
    """The count cards (one per kind, ``data-kind`` attribute for tests and styling).

    The videos card also says how many are sources, face-swapped and variants.
    """
    subtitles = {"videos": " · ".join(f"{n} {t.replace('_', '-')}" for t, n in sorted((videos_by_type or {}).items()))}
    cards = "".join(
        f'<div class="novai-card" data-kind="{kind}"><div class="novai-card-n">{counts.get(kind, 0)}</div>'
        f'<div class="novai-card-label">{html.escape(KIND_LABELS[kind])}</div>'
        f'<div class="novai-card-sub">{html.escape(subtitles.get(kind, ""))}</div></div>'
        for kind in media_stats.COUNTED_KINDS)
    return f'{CARDS_CSS}<div class="novai-cards" id="novai-counts">{cards}</div>'


def spend_markdown(spend: dict[str, Any]) -> str:
    """Spend today and this month, with the daily limit when one is set."""
    limit = spend["limit"]["effective"]
    line = (f"**Spend today:** {media_costs.format_cents(spend['today_cents'])} · "
            f"**this month:** {media_costs.format_cents(spend['month_cents'])} · ")
    if limit is None:
        return line + "**daily limit:** none set (Settings)"
    return line + (f"**daily limit:** {media_costs.format_cents(limit)}, "
                   f"{media_costs.format_cents(spend['left_today_cents'])} left today")


def active_rows(jobs: list[media_stats.JobLine]) -> list[list[Any]]:
    """Table rows of the active jobs."""
    return [[j.id[:8], j.type, j.status, j.progress, j.message, j.created_at.replace("T", " ")[:19]]
            for j in jobs]


def recent_rows(jobs: list[media_stats.JobLine]) -> list[list[Any]]:
    """Table rows of the recently finished jobs, errors included."""
    return [[j.id[:8], j.type, j.status, (j.completed_at or "").replace("T", " ")[:19],
             media_costs.format_cents(j.cost_cents) if j.cost_cents else "", j.error or ""] for j in jobs]


def storage_rows(sizes: dict[str, int]) -> list[list[Any]]:
    """Table rows of bytes used per kind."""
    return [[KIND_LABELS[kind], media_stats.human_bytes(size), size] for kind, size in sizes.items()]


def refresh_live() -> tuple[str, str, list[list[Any]], list[list[Any]], gr.Timer]:
    """Counts, spend, active and recent jobs; the timer speeds up while jobs are active."""
    active = media_stats.active_jobs()
    return (counts_html(media_stats.count_rows(), media_stats.count_videos_by_type()), spend_markdown(media_costs.limit_summary()),
            active_rows(active), recent_rows(media_stats.recent_jobs(10)),
            gr.Timer(value=FAST_TICK_S if active else IDLE_TICK_S))


def refresh_storage() -> list[list[Any]]:
    """Bytes per kind from the files on disk."""
    return storage_rows(media_stats.storage_by_kind())


def build() -> None:
    """Lay out the tab, wire its refresh timers and register the ``stats`` API endpoint."""
    counts = gr.HTML(counts_html({}), elem_id="dash-counts")
    spend = gr.Markdown(elem_id="dash-spend")
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="dash-refresh")
    with gr.Row():
        with gr.Column(scale=3):
            active = gr.Dataframe(headers=ACTIVE_HEADERS, label="Active jobs", interactive=False,
                                  elem_id="dash-active")
            recent = gr.Dataframe(headers=RECENT_HEADERS, label="Recent jobs", interactive=False,
                                  wrap=True, elem_id="dash-recent")
        with gr.Column(scale=2):
            storage = gr.Dataframe(headers=STORAGE_HEADERS, label="Storage used", interactive=False,
                                   elem_id="dash-storage")
    live_timer = gr.Timer(value=IDLE_TICK_S)
    storage_timer = gr.Timer(value=STORAGE_TICK_S)
    live_outputs = [counts, spend, active, recent, live_timer]
    live_timer.tick(refresh_live, outputs=live_outputs, api_visibility="private", show_progress="hidden")
    storage_timer.tick(refresh_storage, outputs=storage, api_visibility="private", show_progress="hidden")
    refresh.click(refresh_live, outputs=live_outputs, api_visibility="private").then(
        refresh_storage, outputs=storage, api_visibility="private")
    on_page_open(refresh_live, None, live_outputs)
    on_page_open(refresh_storage, None, storage)
    api(stats, "stats")
