"""LoRA Creator tab: build a dataset, train on fal (with a cost estimate), import a LoRA, Models library.

Layout only: every action calls ``jobs.lora_api`` / ``jobs.lora_tasks`` / ``media.lora_catalog``.
Named API endpoints (docs/API.md): ``build_lora_dataset``, ``train_lora``, ``import_lora``, ``list_loras``,
``estimate_lora_training``, ``delete_lora``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs import lora_api, lora_tasks
from media import job_store
from media import lora_catalog as catalog
from media.errors import InvalidInput, StudioError
from media.settings import get_settings
from media.store import abs_path
from studio.common import (
    api,
    dropdown_update,
    file_name,
    file_path,
    fmt_bytes,
    notice,
    progress_html,
    user_errors,
)
from studio.page_open import on_page_open

TITLE = "LoRA Creator"


# ---- API endpoints (type-hinted for gr.api) ---------------------------------------------------------

def _api_call(fn, *args):
    """Run an API function (``studio.common.api`` maps its :class:`StudioError` to ``gr.Error``)."""
    return fn(*args)


def build_lora_dataset(image_ids: list[str], trigger_word: str, options: dict | None = None) -> dict:
    """Dataset from library image / character diagram ids -> ``{dataset_id, count, warnings, ...}``."""
    return _api_call(lora_api.build_lora_dataset, image_ids, trigger_word, options)


def train_lora(dataset_id: str, name: str, options: dict | None = None) -> dict:
    """Start a fal training of a dataset -> ``{job_id, lora_id, estimate_cents}``."""
    return _api_call(lora_api.train_lora, dataset_id, name, options)


def import_lora(file: Any, name: str, trigger_word: str = "") -> dict:
    """Import an uploaded ``.safetensors`` LoRA -> the model dict (rank, tensor count, size, metadata)."""
    upload = {"path": str(file_path(file)), "orig_name": file_name(file)}
    return _api_call(lora_api.import_lora, upload, name, trigger_word)


def list_loras() -> list[dict]:
    """Every LoRA (trained and imported), newest first."""
    return lora_api.list_loras()


def estimate_lora_training(steps: int = 1000) -> dict:
    """Cost estimate of a training -> ``{steps, billed_steps, cents, usd}``."""
    return _api_call(lora_api.estimate_lora_training, steps)


def delete_lora(lora_id: str) -> dict:
    """Delete a LoRA and its files -> ``{deleted}``."""
    return _api_call(lora_api.delete_lora, lora_id)


# ---- UI helpers -------------------------------------------------------------------------------------

def _dataset_choices() -> list[tuple[str, str]]:
    return [(f"{d.name} · {d.count} images · [{d.trigger_word}]", d.id) for d in catalog.list_datasets()]


def _source_picker(picked: list[str] | None = None):
    """The library images / character diagrams picker, from the catalog now (keeps valid picks)."""
    return dropdown_update(catalog.dataset_source_choices(), list(picked or []))


def _dataset_picker(dataset_id: str | None = None):
    """The Train section's Dataset picker, from the catalog now (keeps a still-existing pick)."""
    return dropdown_update(_dataset_choices(), dataset_id)


def _dataset_view(dataset_id: str | None):
    if not dataset_id:
        return [], [], None
    dataset = catalog.get_dataset(dataset_id)
    pairs = catalog.dataset_image_paths(dataset)
    gallery = [(str(path), caption) for path, caption in pairs]
    table = [[item["file"], item["caption"]] for item in dataset.items]
    return gallery, table, str(abs_path(dataset.zip_file))


@user_errors
def _build(files, library_ids, trigger, template, resolution, crop, is_person, skip_dupes, name):
    options = {"name": name or "", "caption_template": template or "a photo of [trigger]",
               "resolution": int(resolution), "crop": crop, "is_person": bool(is_person),
               "skip_duplicates": bool(skip_dupes)}
    try:
        if files and library_ids:
            raise InvalidInput("use either uploads or library images for one dataset, not both")
        if files:
            result = lora_api.build_lora_dataset_from_files([file_path(f) for f in files], trigger, options)
        else:
            result = lora_api.build_lora_dataset(list(library_ids or []), trigger, options)
    except StudioError as exc:
        return (notice(str(exc), False), gr.update(), [], [], None, None)
    lines = [notice(f"dataset ready: {result['count']} image(s), trigger word **{result['trigger_word']}**")]
    lines += [f"- {w}" for w in result["warnings"]]
    gallery, table, zip_path = _dataset_view(result["dataset_id"])
    return ("\n".join(lines), gr.update(choices=_dataset_choices(), value=result["dataset_id"]),
            gallery, table, zip_path, result["dataset_id"])


@user_errors
def _save_captions(dataset_id: str | None, table):
    if not dataset_id:
        return notice("build or pick a dataset first", False), gr.update(), None
    rows = table.values.tolist() if hasattr(table, "values") else list(table or [])
    try:
        catalog.update_captions(dataset_id, {str(r[0]): str(r[1]) for r in rows if r and r[0]})
    except StudioError as exc:
        return notice(str(exc), False), gr.update(), None
    gallery, _, zip_path = _dataset_view(dataset_id)
    return notice("captions saved; the ZIP was rebuilt"), gallery, zip_path


def _estimate_text(steps) -> str:
    est = lora_api.estimate_lora_training(int(steps or 0) or 1000)
    key = "" if get_settings().fal_key else "\n\n⚠️ FAL_KEY is not set: training needs a fal.ai key."
    return (f"Estimated fal cost: **${est['usd']:.2f}** ({est['billed_steps']} billed steps at "
            f"${est['usd_per_step']:g} per step; fal bills at least 100 steps).{key}")


@user_errors
def _train(dataset_id, name, steps, lr, is_style, face_det, face_crop, masks, synth, test_image):
    if not dataset_id:
        return notice("pick a dataset first", False), None
    options = {"steps": int(steps), "learning_rate": float(lr), "is_style": bool(is_style),
               "use_face_detection": bool(face_det), "use_face_cropping": bool(face_crop),
               "use_masks": bool(masks), "include_synthetic_captions": bool(synth), "test_image": bool(test_image)}
    try:
        started = lora_api.train_lora(dataset_id, name, options)
    except StudioError as exc:  # missing key, bad option, cost limit: shown as it is
        return notice(str(exc), False), None
    message = f"training queued (job {started['job_id'][:8]}, about ${started['estimate_cents'] / 100:.2f})"
    return notice(message), started["job_id"]


def _job_progress(job_id: str | None) -> str:
    if not job_id:
        return ""
    try:
        job = job_store.get_job(job_id)
    except StudioError:
        return ""
    label = job.error_message if job.status == "failed" else job.message
    return progress_html(job.progress, f"{job.status} · {label or ''}")


def _cancel(job_id: str | None) -> str:
    if not job_id:
        return notice("no training to cancel", False)
    lora_tasks.cancel_training(job_id)
    return notice("cancel requested (fal's request is canceled too)")


@user_errors
def _import(file, name, trigger):
    if not file:
        return notice("choose a .safetensors file first", False)
    try:
        result = import_lora(file, name or "", trigger or "")
    except gr.Error as exc:
        return notice(exc.message, False)
    except StudioError as exc:
        return notice(str(exc), False)
    meta = result["info"]["import"]["metadata"]
    facts = result["info"]["import"]
    summary = (f"- rank {result['rank']} · {result['tensor_count']} tensors · {fmt_bytes(result['size_bytes'])} · "
               f"{facts['naming']} names · {', '.join(facts['dtypes'])}")
    lines = [notice(f"imported **{result['name']}**"), summary]
    lines += [f"- `{k}`: {v[:120]}" for k, v in list(meta.items())[:12]]
    return "\n".join(lines)


def _models():
    rows, gallery = [], []
    for lora in catalog.list_lora_rows():
        rows.append([lora.id, lora.name, lora.status, lora.source, lora.trigger_word, lora.rank or "",
                     lora.training_steps or "", fmt_bytes(lora.size_bytes), f"${lora.cost_cents / 100:.2f}",
                     lora.error_message or ""])
        if lora.thumbnail:
            gallery.append((str(abs_path(lora.thumbnail)), f"{lora.name} [{lora.trigger_word}]"))
    choices = [(f"{lora.name} ({lora.status})", lora.id) for lora in catalog.list_lora_rows()]
    return rows, gallery, gr.update(choices=choices, value=None)


@user_errors
def _delete(lora_id: str | None):
    if not lora_id:
        return (notice("pick a model first", False), *_models())
    try:
        catalog.delete_lora(lora_id)
    except StudioError as exc:
        return (notice(str(exc), False), *_models())
    return (notice("deleted"), *_models())


@user_errors
def _test_image(lora_id: str | None) -> str:
    if not lora_id:
        return notice("pick a model first", False)
    try:
        started = lora_tasks.start_test_image(lora_id)
    except StudioError as exc:  # missing key, model not ready: shown as it is
        return notice(str(exc), False)
    return notice(f"test image queued (job {started['job_id'][:8]}); refresh in a minute")


MODEL_HEADERS = ["id", "name", "status", "source", "trigger word", "rank", "steps", "size", "cost", "error"]


# ---- layout -----------------------------------------------------------------------------------------

def _dataset_section() -> dict[str, Any]:
    with gr.Accordion("1 · Dataset", open=True):
        with gr.Row():
            uploads = gr.File(label="Upload images", file_count="multiple", file_types=["image"],
                              elem_id="lora-dataset-uploads")
            picks = gr.Dropdown(label="…or library images / character diagrams", multiselect=True,
                                choices=[], elem_id="lora-dataset-picks")
        with gr.Row():
            trigger = gr.Textbox(label="Trigger word", value=get_settings().lora_default_trigger,
                                 info="a rare token the model learns for this character")
            template = gr.Textbox(label="Caption template", value="a photo of [trigger]",
                                  info="[trigger] becomes the trigger word; edit single captions below")
            name = gr.Textbox(label="Dataset name")
        with gr.Row():
            resolution = gr.Slider(256, 2048, value=1024, step=64, label="Resolution (px)")
            crop = gr.Radio(["square", "keep"], value="square", label="Crop", info="square = face-centred")
            is_person = gr.Checkbox(value=True, label="Person (flag images with no face)")
            skip = gr.Checkbox(value=False, label="Drop near-duplicates")
        build_btn = gr.Button("Build dataset", variant="primary")
        status = gr.Markdown()
        gallery = gr.Gallery(label="Prepared images", columns=5, height=320)
        captions = gr.Dataframe(headers=["file", "caption"], interactive=True, label="Captions (editable)",
                                wrap=True)
        with gr.Row():
            save_btn = gr.Button("Save captions")
            zip_file = gr.File(label="Dataset ZIP (download)", interactive=False)
        current = gr.State(None)
    return {"uploads": uploads, "picks": picks, "trigger": trigger, "template": template, "name": name,
            "resolution": resolution, "crop": crop, "is_person": is_person, "skip": skip,
            "build_btn": build_btn, "status": status, "gallery": gallery, "captions": captions,
            "save_btn": save_btn, "zip_file": zip_file, "current": current}


def _train_section() -> dict[str, Any]:
    with gr.Accordion("2 · Train on fal (Wan 2.2 image trainer)", open=True):
        with gr.Row():
            dataset = gr.Dropdown(label="Dataset", choices=[], elem_id="lora-train-dataset")
            name = gr.Textbox(label="LoRA name")
        with gr.Row():
            steps = gr.Number(value=1000, precision=0, minimum=10, maximum=20000, label="Steps")
            lr = gr.Number(value=0.0007, label="Learning rate")
        with gr.Row():
            is_style = gr.Checkbox(value=False, label="Style (not a person)")
            face_det = gr.Checkbox(value=True, label="Face detection")
            face_crop = gr.Checkbox(value=False, label="Face cropping")
            masks = gr.Checkbox(value=True, label="Masks")
            synth = gr.Checkbox(value=False, label="Synthetic captions")
            test_image = gr.Checkbox(value=False, label="Test image when done")
        estimate = gr.Markdown(_estimate_text(1000))
        with gr.Row():
            train_btn = gr.Button("Train", variant="primary")
            cancel_btn = gr.Button("Cancel training", variant="stop")
        status = gr.Markdown()
        progress = gr.HTML()
        job_id = gr.State(None)
    return {"dataset": dataset, "name": name, "steps": steps, "lr": lr, "is_style": is_style,
            "face_det": face_det, "face_crop": face_crop, "masks": masks, "synth": synth,
            "test_image": test_image, "estimate": estimate, "train_btn": train_btn, "cancel_btn": cancel_btn,
            "status": status, "progress": progress, "job_id": job_id}


def build() -> None:
    """Lay out the tab, wire its events and register the LoRA API endpoints."""
    ds = _dataset_section()
    tr = _train_section()
    with gr.Accordion("3 · Import a LoRA (.safetensors)", open=False):
        with gr.Row():
            imp_file = gr.File(label="LoRA file", elem_id="lora-import-file")
            imp_name = gr.Textbox(label="Name")
            imp_trigger = gr.Textbox(label="Trigger word (optional)")
        imp_btn = gr.Button("Import")
        imp_status = gr.Markdown()
    with gr.Accordion("Models library", open=True):
        models_gallery = gr.Gallery(label="Models", columns=6, height=220)
        models_table = gr.Dataframe(headers=MODEL_HEADERS, interactive=False, wrap=True)
        with gr.Row():
            model_pick = gr.Dropdown(label="Model", choices=[])
            refresh_btn = gr.Button("Refresh")
            test_btn = gr.Button("Generate test image")
            delete_btn = gr.Button("Delete", variant="stop")
        models_status = gr.Markdown()

    ds["build_btn"].click(_build, [ds["uploads"], ds["picks"], ds["trigger"], ds["template"], ds["resolution"],
                                   ds["crop"], ds["is_person"], ds["skip"], ds["name"]],
                          [ds["status"], tr["dataset"], ds["gallery"], ds["captions"], ds["zip_file"],
                           ds["current"]])
    ds["save_btn"].click(_save_captions, [ds["current"], ds["captions"]],
                         [ds["status"], ds["gallery"], ds["zip_file"]])
    tr["steps"].change(_estimate_text, tr["steps"], tr["estimate"])
    tr["train_btn"].click(_train, [tr[k] for k in ("dataset", "name", "steps", "lr", "is_style", "face_det",
                                                   "face_crop", "masks", "synth", "test_image")],
                          [tr["status"], tr["job_id"]])
    tr["cancel_btn"].click(_cancel, tr["job_id"], tr["status"])
    gr.Timer(2.0).tick(_job_progress, tr["job_id"], tr["progress"])
    imp_btn.click(_import, [imp_file, imp_name, imp_trigger], imp_status).then(
        _models, None, [models_table, models_gallery, model_pick])
    refresh_btn.click(_models, None, [models_table, models_gallery, model_pick])
    delete_btn.click(_delete, model_pick, [models_status, models_table, models_gallery, model_pick])
    test_btn.click(_test_image, model_pick, models_status)
    # The pickers come from the catalog when the page opens and again when opened (another tab may have
    # added images, characters or datasets since), as the Characters tab's source picker does.
    private = {"api_visibility": "private"}
    on_page_open(lambda p, d: (_source_picker(p), _dataset_picker(d)), [ds["picks"], tr["dataset"]],
                 [ds["picks"], tr["dataset"]])
    ds["picks"].focus(_source_picker, ds["picks"], ds["picks"], **private)
    tr["dataset"].focus(_dataset_picker, tr["dataset"], tr["dataset"], **private)
    on_page_open(_models, None, [models_table, models_gallery, model_pick])

    api(build_lora_dataset, "build_lora_dataset")
    api(train_lora, "train_lora")
    api(import_lora, "import_lora")
    api(list_loras, "list_loras")
    api(estimate_lora_training, "estimate_lora_training")
    api(delete_lora, "delete_lora")
