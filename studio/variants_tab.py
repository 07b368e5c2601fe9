"""Variants tab: pick videos x audio x hooks, set options, start a batch, watch it, download results."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from jobs import variants as variant_jobs
from jobs.providers import providers
from jobs.runner import UserFacingError
from media import asr, batches, job_store, library, store, subtitles, tts
from media import collections as colls
from media import hooks as hook_store
from media.assignment import ASSIGNMENTS
from media.costs import format_cents
from media.variant_options import VariantOptions, field_spec
from media.variant_render import preview_frame
from studio import csv_batch_ui
from studio.common import api, fmt_seconds, notice, progress_html, short_id, user_errors
from studio.page_open import on_page_open

TITLE = "Variants"
RESULT_HEADERS = ["status", "error / warning", "#", "file", "video", "audio", "hook"]  # status first: visible
ZIP_WAIT_S = 600  # longest the batch_zip endpoint waits for its ZIP job, seconds


# ---- API functions (named endpoints; see docs/API.md) -------------------------------------------------

def create_variant_batch(video_ids: list[str], audio_ids: list[str], hook_ids: list[str],
                         variants_per_video: int = 1, options: dict | None = None,
                         scripts: list[str] | None = None, webhook_url: str = "") -> dict:
    """Start a variant batch; returns ``{batch_id, total, job_ids}``. ``options``: docs/API.md's table
    (media.variant_options), plus ``lipsync`` (a lip-sync provider id: each variant whose audio is
    replaced is lip-synced on fal, its total reserved against the daily limit first); ``scripts``:
    per-variant voice-over texts (round robin); ``webhook_url``: POST a JSON notice (batch id, status,
    counts) there when the batch finishes. Bad input raises an error message."""
    try:
        return variant_jobs.create_variant_batch(video_ids, audio_ids, hook_ids, variants_per_video, options,
                                                 scripts, webhook_url)
    except UserFacingError as exc:
        raise gr.Error(str(exc)) from exc


@user_errors
def transcribe(media_id: str) -> dict:
    """``{"words": [{"word", "start_s", "end_s"}], "text", "language", "model"}`` of a library video or
    audio (transcribed once, offline)."""
    return asr.transcribe_media(media_id).as_dict()


@user_errors
def update_transcript(media_id: str, words: list) -> dict:
    """Correct a transcript's words (timings kept when a word is given without them); returns it."""
    return asr.update_transcript(media_id, words).as_dict()


@user_errors
def synthesize_voice(text: str, voice: str = "joe-us") -> dict:
    """``{"audio_id"}``: ``text`` spoken by ``voice`` (Piper), added to the library as an audio."""
    return {"audio_id": tts.synthesize_to_library(text, voice)}


def batch_status(batch_id: str) -> dict:
    """``{status, total, done, failed, canceled, running, created_at, expires_at, zip_ready, options}``."""
    try:
        return batches.batch_status(batch_id)
    except batches.BatchError as exc:
        raise gr.Error(str(exc)) from exc


def batch_results(batch_id: str) -> list[dict]:
    """One dict per variant in batch order: index, variant_id, video_id, audio_id, hook_id, status, error,
    file_name (its name in the ZIP), render_path, path."""
    try:
        return batches.batch_results(batch_id)
    except batches.BatchError as exc:
        raise gr.Error(str(exc)) from exc


def batch_zip_path(batch_id: str, wait_s: float = ZIP_WAIT_S) -> str:
    """Path of an up-to-date ZIP of the batch (built by a queued job; waits up to ``wait_s`` seconds)."""
    status = batches.batch_status(batch_id)
    batch = batches.get_batch(batch_id)
    if batch.zip_file and _zip_current(batch_id, batch.zip_file, status["done"]):
        return str(store.abs_path(batch.zip_file))
    job_id = variant_jobs.request_zip(batch_id)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        job = job_store.get_job(job_id)
        if job.status == "completed":
            return str(store.abs_path(batches.get_batch(batch_id).zip_file))
        if job.status in ("failed", "canceled"):
            raise gr.Error(f"ZIP failed: {job.error_message or job.status}")
        time.sleep(0.3)
    raise gr.Error("the ZIP is still being built; try again in a moment (is a worker running?)")


def _zip_current(batch_id: str, rel: str, done: int) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(store.abs_path(rel)) as archive:
            return len([n for n in archive.namelist() if n != "manifest.json"]) == done
    except (OSError, zipfile.BadZipFile):
        return False


def batch_zip(batch_id: str) -> gr.FileData:
    """``batch_zip`` endpoint: the ZIP of all finished variants with ``manifest.json``."""
    try:
        return gr.FileData(path=batch_zip_path(batch_id))
    except batches.BatchError as exc:
        raise gr.Error(str(exc)) from exc


# ---- UI helpers ---------------------------------------------------------------------------------------

def _choices(kind: str, text: str = "", keep: list[str] | None = None) -> list[tuple[str, str]]:
    """A page of picker choices (newest first; ``text`` searches names) plus the ``keep`` ids (the
    current selection), from column-only queries (issue 15: 2,000 videos stay instant)."""
    rows, _ = library.choice_page(kind, text)
    if keep:
        rows = library.choice_page(kind, ids=keep)[0] + rows
    if kind == "video":
        labels = [(f"{r.name} ({fmt_seconds(r.duration_s)}, {r.width}x{r.height}) · {short_id(r.id)}", r.id)
                  for r in rows]
    else:
        labels = [(f"{r.name} ({fmt_seconds(r.duration_s)}) · {short_id(r.id)}", r.id) for r in rows]
    return [(label, i) for i, label in {i: label for label, i in labels}.items()]  # no repeats


def _hook_choices(text: str = "", keep: list[str] | None = None) -> list[tuple[str, str]]:
    """A page of hook choices (``text`` searches them) plus the ``keep`` ids, column-only."""
    rows = (library.hook_page(ids=keep)[0] if keep else []) + library.hook_page(text)[0]
    labels = {h_id: (h_text if len(h_text) <= 70 else h_text[:69] + "…") + (f"  [{cat}]" if cat else "")
              for h_id, h_text, cat in rows}
    return [(label, h_id) for h_id, label in labels.items()]


def resolve_selection(kind: str, collection_ids: list[str] | None, item_ids: list[str] | None) -> list[str]:
    """Ids picked individually (in order) then the members of the picked collections, without repeats."""
    ordered = list(item_ids or [])
    for collection_id in collection_ids or []:
        ordered += [row.id for row in reversed(library.list_items(kind, collection_id))]
    return list(dict.fromkeys(ordered))


def resolve_hooks(categories: list[str] | None, hook_ids: list[str] | None) -> list[str]:
    """Hooks picked individually then every hook of the picked categories, without repeats."""
    ordered = list(hook_ids or [])
    for category in categories or []:
        ordered += [h.id for h in hook_store.list_hooks(category)]
    return list(dict.fromkeys(ordered))


NEW_CONTROLS = ("captions", "caption_style", "caption_position", "caption_font_size", "voiceover", "voice",
                "duck_db", "loudness_lufs")  # issue 11's option keys, controls built from the model


def _control(name: str, label: str | None = None):
    """A Gradio control for one VariantOptions field, from its declared allowed values and bounds."""
    spec = field_spec(name)
    label = label or f"{name} — {spec['description']}"
    default = spec["default"]
    if spec["choices"]:
        return gr.Radio(spec["choices"], value=default, label=label)
    if spec["kind"] in ("number", "integer") and spec["minimum"] is not None:
        step = 1 if spec["kind"] == "integer" else 0.5
        return gr.Slider(spec["minimum"], spec["maximum"], value=default if default is not None else spec["maximum"],
                         step=step, label=label)
    return gr.Textbox(value="" if default is None else str(default), label=label)


def _options(assignment, seed, position, start, duration, font_size, color, stroke, box, audio_mode, fit,
             *extra):
    options: dict[str, Any] = {"assignment": assignment, "hook_position": position,
                               "hook_start_s": float(start or 0), "hook_duration_s": float(duration or 0),
                               "audio_mode": audio_mode, "fit": fit, "text_color": color,
                               "stroke_color": stroke, "box": bool(box)}
    if font_size:
        options["font_size"] = int(font_size)
    if assignment == "random":
        options["seed"] = int(seed or 0)
    for key, value in zip(NEW_CONTROLS, extra):
        options[key] = value
    return options


def _scripts(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@user_errors
def _preview(v_colls, v_ids, h_cats, h_ids, *opts):
    """One frame of the first source with the first hook and the caption style, before a batch starts."""
    videos = resolve_selection("video", v_colls, v_ids)
    if not videos:
        return None, notice("pick a video first", False)
    kind, item = library.find_item(videos[0])
    if kind != "video":
        return None, notice("the preview shows videos; a still becomes a Ken Burns clip when the batch starts",
                            False)
    hook_ids = resolve_hooks(h_cats, h_ids)
    hook_text = next((h.text for h in hook_store.list_hooks() if hook_ids and h.id == hook_ids[0]), None)
    options = VariantOptions.from_dict(_options(*opts[:-1]))
    image = preview_frame(store.abs_path(item.file), hook_text, options)
    return image, notice("preview of the first variant's look")


def _plan_text(v_colls, v_ids, a_colls, a_ids, h_cats, h_ids, per_video, assignment, audio_mode=None,
               lipsync="") -> str:
    videos = resolve_selection("video", v_colls, v_ids)
    audios = resolve_selection("audio", a_colls, a_ids)
    hooks = resolve_hooks(h_cats, h_ids)
    count = variant_jobs.plan_count(videos, audios, hooks, int(per_video or 1), assignment)
    text = (f"**{count} variant(s)** from {len(videos)} video(s), {len(audios)} audio track(s), "
            f"{len(hooks)} hook(s) · assignment: {assignment}")
    if not lipsync or not count:
        return text
    try:  # the lip-sync total before the batch starts (jobs.variants.estimate_variant_batch)
        shown = variant_jobs.estimate_variant_batch(
            videos, audios, hooks, int(per_video or 1),
            {"assignment": assignment, "audio_mode": audio_mode or "replace", "lipsync": lipsync})
    except UserFacingError as exc:
        return f"{text}  \nLip sync: {exc}"
    return (f"{text}  \n**Lip sync:** {shown['lipsync_variants']} variant(s) with replaced audio, estimated "
            f"**{format_cents(shown['estimate_cents'])}** in total (reserved against the daily limit at start; "
            "refused over it)")


def _start(v_colls, v_ids, a_colls, a_ids, h_cats, h_ids, per_video, *opts, lipsync: str = ""):
    scripts = _scripts(opts[-1]) if len(opts) > 11 + len(NEW_CONTROLS) else []
    opts = opts[:11 + len(NEW_CONTROLS)]
    options = _options(*opts)
    if lipsync:
        options["lipsync"] = lipsync
    try:
        result = variant_jobs.create_variant_batch(
            resolve_selection("video", v_colls, v_ids), resolve_selection("audio", a_colls, a_ids),
            resolve_hooks(h_cats, h_ids), int(per_video or 1), options, scripts)
    except UserFacingError as exc:
        return gr.update(), notice(str(exc), False), gr.update()
    return (result["batch_id"], notice(f"batch {short_id(result['batch_id'])} started: {result['total']} variants"),
            gr.update(choices=_batch_choices(), value=result["batch_id"]))


def _media_choices() -> list[tuple[str, str]]:
    return [(f"video: {label}", i) for label, i in _choices("video")] + \
        [(f"audio: {label}", i) for label, i in _choices("audio")]


def _transcript_outputs(media_id: str, result) -> tuple:
    folder = store.media_root() / "transcripts"
    folder.mkdir(parents=True, exist_ok=True)
    srt, vtt = folder / f"{media_id}.srt", folder / f"{media_id}.vtt"
    srt.write_text(subtitles.to_srt(result.words), encoding="utf-8")
    vtt.write_text(subtitles.to_vtt(result.words), encoding="utf-8")
    rows = [[w["word"], w["start_s"], w["end_s"]] for w in result.words]
    note = " (English only)" if result.english_only else ""
    return rows, [str(srt), str(vtt)], notice(f"{len(rows)} words · model {result.model}{note}")


@user_errors
def _transcribe_ui(media_id: str | None):
    if not media_id:
        return [], None, notice("pick a video or audio first", False)
    return _transcript_outputs(media_id, asr.transcribe_media(media_id))


@user_errors
def _save_transcript(media_id: str | None, table):
    if not media_id:
        return [], None, notice("pick a video or audio first", False)
    rows = table.values.tolist() if hasattr(table, "values") else list(table or [])
    words = [{"word": str(r[0]), "start_s": float(r[1]), "end_s": float(r[2])} for r in rows if str(r[0]).strip()]
    return _transcript_outputs(media_id, asr.update_transcript(media_id, words))


def _batch_choices() -> list[tuple[str, str]]:
    return [(f"{b.created_at:%Y-%m-%d %H:%M} · {b.total} variants · {b.status} · {short_id(b.id)}", b.id)
            for b in batches.list_batches()]


def _poll(batch_id: str | None, shown: str | None = None):
    """Status bar, info, table every tick; gallery and downloads only when the finished set changed
    (so a playing preview is not restarted)."""
    if not batch_id:
        return "", "", [], [], gr.update(), gr.update(), None, gr.update()
    try:
        status = batches.batch_status(batch_id)
    except batches.BatchError as exc:
        return notice(str(exc), False), "", [], [], gr.update(), gr.update(), None, gr.update()
    results = batches.batch_results(batch_id)
    finished = status["done"] + status["failed"] + status["canceled"]
    bar = progress_html(100 * finished / max(1, status["total"]),
                        f"{status['status']} · {status['done']} done, {status['failed']} failed, "
                        f"{status['canceled']} canceled of {status['total']}")
    info = (f"Batch `{batch_id}` · created {status['created_at'][:19].replace('T', ' ')} UTC · "
            f"expires {status['expires_at'][:19].replace('T', ' ')} UTC (files are deleted then unless kept)")
    rows = [[r["status"] + (f" ({r['render_path']})" if r["render_path"] else ""),
             r["error"] or r.get("warning") or "", r["index"], r["file_name"], r["video"],
             r["audio"] or "(original)", r["hook"] or "(none)"]
            for r in results]
    done = [r for r in results if r["file_path"]]
    signature = batch_id + ":" + ",".join(r["variant_id"] for r in done)
    if signature == shown:
        return bar, info, rows, gr.update(), gr.update(), gr.update(), shown, gr.update()
    gallery = [(r["thumbnail_path"] or r["file_path"], f"#{r['index']} {r['file_name']}") for r in done]
    keep = gr.update(choices=[(f"#{r['index']} {r['file_name']}", r["variant_id"]) for r in done])
    picker = gr.update(choices=_batch_choices())  # its labels carry each batch's status
    return bar, info, rows, gallery, [r["file_path"] for r in done] or None, keep, signature, picker


def _play(evt: gr.SelectData, batch_id: str | None):
    """The finished variant whose gallery tile was clicked (tiles are its 9:16 thumbnails, in order)."""
    done = [r for r in batches.batch_results(batch_id) if r["file_path"]] if batch_id else []
    return done[evt.index]["file_path"] if 0 <= evt.index < len(done) else None


# Results tiles in 9:16 (Gradio's are square) showing the whole frame: the hook's first line stays in view.
RESULTS_CSS = ("<style>#variants-results .thumbnail-item{aspect-ratio:9/16;height:auto}"
               "#variants-results .thumbnail-item img{object-fit:contain}</style>")


def _make_zip(batch_id: str | None):
    if not batch_id:
        return gr.update(), notice("start or open a batch first", False)
    try:
        return batch_zip_path(batch_id), notice("ZIP ready (with manifest.json)")
    except (gr.Error, batches.BatchError) as exc:
        return gr.update(), notice(getattr(exc, "message", str(exc)), False)


def _keep(variant_id: str | None):
    if not variant_id:
        return notice("pick a finished variant first", False)
    try:
        video_id = batches.keep_variant(variant_id)
    except batches.BatchError as exc:
        return notice(str(exc), False)
    return notice(f"kept in the library as video {short_id(video_id)}")


def _cancel(batch_id: str | None):
    if not batch_id:
        return notice("no batch selected", False)
    return notice(f"canceled {variant_jobs.cancel_batch(batch_id)} unfinished variant(s)")


def _reload_choices():
    return (gr.update(choices=[(c.name, c.id) for c in colls.list_collections("video")]),
            gr.update(choices=_choices("video")),
            gr.update(choices=[(c.name, c.id) for c in colls.list_collections("audio")]),
            gr.update(choices=_choices("audio")),
            gr.update(choices=hook_store.list_categories()), gr.update(choices=_hook_choices()),
            gr.update(choices=_batch_choices()))


def build() -> None:
    """Lay out the Variants tab and register create_variant_batch, batch_status, batch_results, batch_zip,
    transcribe, update_transcript, synthesize_voice."""
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Videos")
            v_colls = gr.Dropdown(label="Collections", multiselect=True, choices=[])
            v_ids = gr.Dropdown(label="…and/or single videos", multiselect=True, choices=[])
            v_find = gr.Textbox(label="Find videos by name", placeholder=f"the {library.PAGE_SIZE} newest are listed")
        with gr.Column():
            gr.Markdown("### Audio (optional)")
            a_colls = gr.Dropdown(label="Collections", multiselect=True, choices=[])
            a_ids = gr.Dropdown(label="…and/or single tracks", multiselect=True, choices=[])
        with gr.Column():
            gr.Markdown("### Hooks (optional)")
            h_cats = gr.Dropdown(label="Categories", multiselect=True, choices=[])
            h_ids = gr.Dropdown(label="…and/or single hooks", multiselect=True, choices=[])
            h_find = gr.Textbox(label="Find hooks by text", placeholder=f"the first {library.PAGE_SIZE} are listed")
    with gr.Row():
        per_video = gr.Slider(1, 50, value=2, step=1, label="Variants per video")
        assignment = gr.Radio(list(ASSIGNMENTS), value="round_robin", label="Assignment")
        seed = gr.Number(value=0, precision=0, label="Seed (random)")
        reload_btn = gr.Button("Reload library", size="sm")
    with gr.Accordion("Hook text and audio options", open=False):
        with gr.Row():
            position = gr.Radio(["top", "center", "bottom"], value="top", label="Hook position (inside the 9:16 safe zone)")
            start = gr.Number(value=0, label="Hook start (s)")
            duration = gr.Number(value=3, label="Hook duration (s, 0 = whole video)")
        with gr.Row():
            font_size = gr.Number(value=0, precision=0, label="Font size px (0 = fit the safe width)")
            color = gr.ColorPicker(value="#FFFFFF", label="Text colour")
            stroke = gr.ColorPicker(value="#000000", label="Stroke colour")
            box = gr.Checkbox(value=False, label="Background box")
        with gr.Row():
            audio_mode = gr.Radio(["replace", "mix", "keep"], value="replace",
                                  label="Audio: replace (loop/trim + fade-out), mix under the voice, keep")
            fit = gr.Radio(["blur", "crop", "pad"], value="blur", label="Fit to 1080x1920")
    with gr.Accordion("Captions, voice-over and mix", open=False):
        english = " (tiny.en: English only)" if asr.is_english_only() else ""
        gr.Markdown(f"Speech-to-text model: `{asr.model_name()}`{english}. "
                    + ("Voice-over: Piper installed." if tts.available() else tts.install_hint()))
        with gr.Row():
            captions = _control("captions", "Captions: off, from the speech, or the voice-over script")
            caption_style = _control("caption_style", "Caption style")
            caption_position = _control("caption_position", "Caption position (safe zone, off the hook)")
            caption_font_size = _control("caption_font_size", "Caption size px")
        with gr.Row():
            voiceover = _control("voiceover", "Voice-over: off, speak the hook, or the scripts below")
            voice = gr.Dropdown(list(tts.VOICES), value=field_spec("voice")["default"], label="Voice",
                                allow_custom_value=True)
            duck_db = _control("duck_db", "Duck music under speech (dB)")
            loudness = _control("loudness_lufs", "Loudness target (LUFS)")
        scripts = gr.Textbox(lines=3, label="Scripts (one per line, round robin over the variants)")
        with gr.Row():
            preview_btn = gr.Button("Preview one frame", size="sm")
            preview_msg = gr.Markdown()
        preview_img = gr.Image(label="Preview (first source, first hook, caption style)", height=480,
                               interactive=False)
    with gr.Accordion("Transcript (captions from speech use it; correct a word, timings are kept)", open=False):
        with gr.Row():
            t_media = gr.Dropdown(label="Video or audio", choices=[])
            t_btn = gr.Button("Transcribe", size="sm")
            t_save = gr.Button("Save corrections", size="sm")
        t_msg = gr.Markdown()
        t_table = gr.Dataframe(headers=["word", "start_s", "end_s"], datatype=["str", "number", "number"],
                               interactive=True, max_height=300)
        t_files = gr.File(label="SRT and WebVTT", file_count="multiple", interactive=False)
    lipsync_pick = gr.Dropdown([("off", "")] + [(p.label, p.id) for p in providers("lipsync")], value="",
                               label="Lip sync each variant whose audio is replaced (cloud, billed)")
    plan = gr.Markdown()
    start_btn = gr.Button("Start batch", variant="primary")
    start_msg = gr.Markdown()

    gr.Markdown("### Batch")
    with gr.Row():
        batch_pick = gr.Dropdown(label="Open batch", choices=[])
        cancel_btn = gr.Button("Cancel unfinished", variant="stop", size="sm")
    batch_id = gr.State(None)
    bar = gr.HTML()
    info = gr.Markdown()
    gr.HTML(RESULTS_CSS)
    with gr.Row():
        gallery = gr.Gallery(label="Results (click one to play it)", columns=6, height=560, object_fit="contain",
                             fit_columns=False, allow_preview=False, elem_id="variants-results", scale=3)
        player = gr.Video(label="Selected variant", interactive=False, height=560, elem_id="variants-player",
                          scale=1)
    table = gr.Dataframe(headers=RESULT_HEADERS, interactive=False, wrap=True, max_height=300,
                         column_widths=["12%", "26%", "4%", "28%", "10%", "10%", "10%"])
    with gr.Row():
        downloads = gr.File(label="Download variants", file_count="multiple", interactive=False)
        with gr.Column():
            zip_btn = gr.Button("Build ZIP of finished variants")
            zip_file = gr.File(label="ZIP", interactive=False)
            zip_msg = gr.Markdown()
            keep_pick = gr.Dropdown(label="Keep a variant in the library (survives expiry)", choices=[])
            keep_btn = gr.Button("Keep")
            keep_msg = gr.Markdown()

    plan_inputs = [v_colls, v_ids, a_colls, a_ids, h_cats, h_ids, per_video, assignment]
    opt_inputs = [assignment, seed, position, start, duration, font_size, color, stroke, box, audio_mode, fit,
                  captions, caption_style, caption_position, caption_font_size, voiceover, voice, duck_db,
                  loudness, scripts]
    preview_btn.click(_preview, [v_colls, v_ids, h_cats, h_ids, *opt_inputs], [preview_img, preview_msg],
                      api_visibility="private")
    for comp in [*plan_inputs, audio_mode, lipsync_pick]:
        comp.change(_plan_text, [*plan_inputs, audio_mode, lipsync_pick], plan, api_visibility="private")
    choice_outputs = [v_colls, v_ids, a_colls, a_ids, h_cats, h_ids, batch_pick]
    reload_btn.click(_reload_choices, None, choice_outputs, api_visibility="private")
    v_find.change(lambda text, keep: gr.update(choices=_choices("video", text or "", keep)), [v_find, v_ids],
                  v_ids, api_visibility="private", trigger_mode="always_last")
    h_find.change(lambda text, keep: gr.update(choices=_hook_choices(text or "", keep)), [h_find, h_ids],
                  h_ids, api_visibility="private", trigger_mode="always_last")
    on_page_open(_reload_choices, None, choice_outputs)
    t_btn.click(_transcribe_ui, t_media, [t_table, t_files, t_msg], api_visibility="private")
    t_save.click(_save_transcript, [t_media, t_table], [t_table, t_files, t_msg], api_visibility="private")
    reload_btn.click(lambda: gr.update(choices=_media_choices()), None, t_media, api_visibility="private")
    on_page_open(lambda: gr.update(choices=_media_choices()), None, t_media)
    start_btn.click(lambda lip, *args: _start(*args, lipsync=lip), [lipsync_pick, *plan_inputs[:7], *opt_inputs],
                    [batch_id, start_msg, batch_pick], api_visibility="private")
    batch_pick.input(lambda b: b, batch_pick, batch_id, api_visibility="private")
    shown = gr.State(None)
    poll_outputs = [bar, info, table, gallery, downloads, keep_pick, shown, batch_pick]
    batch_id.change(_poll, batch_id, poll_outputs, api_visibility="private")
    gr.Timer(2.0).tick(_poll, [batch_id, shown], poll_outputs, api_visibility="private")
    gallery.select(_play, batch_id, player, api_visibility="private")
    cancel_btn.click(_cancel, batch_id, start_msg, api_visibility="private")
    zip_btn.click(_make_zip, batch_id, [zip_file, zip_msg], api_visibility="private")
    keep_btn.click(_keep, keep_pick, keep_msg, api_visibility="private")

    api(create_variant_batch, "create_variant_batch")
    api(batch_status, "batch_status")
    api(batch_results, "batch_results")
    api(batch_zip, "batch_zip")
    api(transcribe, "transcribe")
    api(update_transcript, "update_transcript")
    api(synthesize_voice, "synthesize_voice")
    csv_batch_ui.build(batch_id)
