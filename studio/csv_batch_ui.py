"""Variants tab, "Batch from a spreadsheet" section: upload or paste a CSV, preview, start; and the
``create_batch_from_csv``, ``preview_batch_csv``, ``batch_csv_template`` endpoints. Work lives in
media/csv_batches.py and jobs/variants.py."""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs import variants as variant_jobs
from media import csv_batches, store
from media.errors import StudioError
from studio.common import api, file_path, notice, short_id, user_errors


def _source(file: Any) -> str | None:
    return str(file_path(file)) if file else None


@user_errors
def create_batch_from_csv(file: Any = None, options: dict | None = None, table: str = "",
                          webhook_url: str = "") -> dict:
    """Start a variant batch from a spreadsheet: each row is one variant.

    ``file``: an uploaded CSV (or ``table``: the text of a CSV / a table pasted from a spreadsheet, tab
    separated). Columns: ``video`` (required), ``audio``, ``hook`` (library names or ids; a hook may be
    its exact text) and any variant option (``hook_position``, ``hook_start_s``, ``hook_duration_s`` in
    seconds, ``audio_mode``, ``fit``, text style keys). ``options``: defaults for every row.
    ``webhook_url``: POST a JSON notice there when the batch finishes.
    Returns ``{batch_id, total, job_ids}``. Errors name the unknown column, the names matching nothing,
    the bad option value, or the row cap (NOVAI_CSV_MAX_ROWS); nothing is created then.
    """
    return variant_jobs.create_batch_from_csv(_source(file), options, table, webhook_url)


@user_errors
def preview_batch_csv(file: Any = None, options: dict | None = None, table: str = "") -> dict:
    """How a spreadsheet would resolve, before a batch starts: ``{total, columns, rows (first 5: row,
    video/audio/hook as {value, id, name}, options, problems), unmatched: [{row, column, value, why}],
    problems, ok}``. Errors for a table that cannot be read (unknown column, empty, over the cap)."""
    return csv_batches.preview(_source(file), table, options)


@user_errors
def batch_csv_template() -> gr.FileData:
    """A CSV template with every allowed column and example rows from the library."""
    dest = store.new_file_path("exports", "batch_template.csv")
    return gr.FileData(path=str(csv_batches.write_template(dest)))


def estimate_variant_batch(video_ids: list[str], audio_ids: list[str], hook_ids: list[str],
                           variants_per_video: int = 1, options: dict | None = None,
                           scripts: list[str] | None = None) -> dict:
    """Before a batch starts: ``{total, lipsync_variants, estimate_cents}`` (cents) for the same
    arguments as ``create_variant_batch``; ``options["lipsync"]`` (e.g. ``sync_lipsync``) prices lip-syncing
    each variant whose audio is replaced. Errors like ``create_variant_batch``."""
    return variant_jobs.estimate_variant_batch(video_ids, audio_ids, hook_ids, variants_per_video, options,
                                               scripts)


@user_errors
def _preview_ui(file, table):
    try:
        shown = csv_batches.preview(_source(file), table or "")
    except (gr.Error, StudioError) as exc:  # a refused upload, a bad sheet: shown inline
        return notice(getattr(exc, "message", str(exc)), False), []
    rows = [[r["row"], r["video"]["name"] or f"✗ {r['video']['value']}",
             (r["audio"]["name"] or f"✗ {r['audio']['value']}") if r["audio"]["value"] else "(original)",
             (r["hook"]["name"] or f"✗ {r['hook']['value']}") if r["hook"]["value"] else "(none)",
             ", ".join(f"{k}={v}" for k, v in r["options"].items()), "; ".join(r["problems"])]
            for r in shown["rows"]]
    head = f"**{shown['total']} variant row(s)**; columns: {', '.join(shown['columns'])}."
    if shown["unmatched"]:
        names = ", ".join(f"row {u['row']} {u['column']} '{u['value']}'" for u in shown["unmatched"][:20])
        head += f"\n\nNames that match nothing: {names}"
    elif shown["problems"]:
        head += "\n\n" + "; ".join(shown["problems"][:10])
    return notice(head, shown["ok"]), rows


@user_errors
def _start_ui(file, table, webhook_url):
    try:
        result = variant_jobs.create_batch_from_csv(_source(file), None, table or "", webhook_url or "")
    except (gr.Error, StudioError) as exc:  # a refused upload, a bad sheet: shown inline
        return gr.update(), notice(getattr(exc, "message", str(exc)), False)
    return result["batch_id"], notice(f"batch {short_id(result['batch_id'])} started from the spreadsheet: "
                                      f"{result['total']} variants")


def build(batch_id: gr.State) -> None:
    """The spreadsheet section; a started batch is put into ``batch_id`` (the tab's open batch)."""
    with gr.Accordion("Batch from a spreadsheet (CSV)", open=False):
        gr.Markdown("One row per variant. Columns: `video`, `audio`, `hook` (names or ids) and any option "
                    f"({', '.join(csv_batches.option_columns())}). Empty cell = none / the default.")
        with gr.Row():
            csv_file = gr.File(label="CSV file", file_types=[".csv", ".tsv", ".txt"])
            csv_text = gr.Textbox(label="…or paste a table", lines=6)
        with gr.Row():
            template_btn = gr.Button("Download template", size="sm")
            template_file = gr.File(label="Template", interactive=False)
        webhook = gr.Textbox(label="Webhook URL when the batch finishes (optional)")
        with gr.Row():
            preview_btn = gr.Button("Preview")
            start_btn = gr.Button("Start batch from CSV", variant="primary")
        message = gr.Markdown()
        table = gr.Dataframe(headers=["row", "video", "audio", "hook", "options", "problems"],
                             interactive=False, wrap=True)
    template_btn.click(user_errors(lambda: csv_batches.write_template(
        store.new_file_path("exports", "batch_template.csv"))), None, template_file, api_visibility="private")
    preview_btn.click(_preview_ui, [csv_file, csv_text], [message, table], api_visibility="private")
    start_btn.click(_start_ui, [csv_file, csv_text, webhook], [batch_id, message], api_visibility="private")
    api(create_batch_from_csv, "create_batch_from_csv")
    api(estimate_variant_batch, "estimate_variant_batch")
    api(preview_batch_csv, "preview_batch_csv")
    api(batch_csv_template, "batch_csv_template")
