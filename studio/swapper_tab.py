"""Swapper tab: pick source videos and a face (library image or character diagram), preview one frame
before/after, queue one face-swap job per video, follow and cancel the jobs, compare results."""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs import swap_tasks
from jobs.swap_providers import provider_names
from media import job_store, library, store
from media.errors import StudioError
from media.face.onnx_models import SWAP_MODEL_INFO
from media.model_store import ENHANCER_MODELS
from media.settings import get_settings
from media.swap_catalog import list_faces
from studio import lipsync_ui
from studio.common import api, fmt_seconds, notice, short_id, user_errors
from studio.page_open import on_page_open

TITLE = "Swapper"
SELECTIONS = [("One face (the largest)", "one"), ("Many faces (every face)", "many"),
              ("Reference face (click the preview)", "reference")]


# ---- API functions (named endpoints; see docs/API.md) -------------------------------------------------

def create_swap_job(video_ids: list[str], face_image_id: str, provider: str = "local",
                    options: dict | None = None) -> dict:
    """Queue one face-swap job per video; returns ``{job_ids}``. Bad input raises an error message."""
    return swap_tasks.create_swap_job(video_ids, face_image_id, provider or "local", options or {})


# ---- choices ------------------------------------------------------------------------------------------

def _video_choices(keep: list[str] | None = None) -> list[tuple[str, str]]:
    """The newest :data:`library.PAGE_SIZE` videos plus the ``keep`` ids (the current selection)."""
    rows = library.list_items("video", limit=library.PAGE_SIZE)
    listed = {v.id for v in rows}
    for video_id in keep or []:
        if video_id not in listed:
            try:
                rows.append(library.get_item("video", video_id))
            except library.LibraryError:
                continue
    return [(f"{v.name} · {fmt_seconds(v.duration_s)} · {v.type}", v.id) for v in rows]


def _thumb(rel: str | None) -> str | None:
    try:
        return str(store.abs_path(rel)) if rel else None
    except StudioError:
        return None


def _face_gallery() -> tuple[list[tuple[str, str]], list[str]]:
    items, ids = [], []
    for face in list_faces():
        path = _thumb(face.thumbnail) or _thumb(face.file)
        if path:
            label = f"{face.name} (character diagram)" if face.character_diagram_id else face.name
            items.append((path, label))
            ids.append(face.id)
    return items, ids


def _selected_videos(video_ids: list[str] | None) -> list[tuple[str, str]]:
    items = []
    for video_id in video_ids or []:
        try:
            video = library.get_item("video", video_id)
        except StudioError:
            continue
        thumb = _thumb(video.thumbnail)
        if thumb:
            items.append((thumb, video.name))
    return items


def _reload(current_videos: list[str] | None):
    choices = _video_choices(current_videos)
    valid = {value for _, value in choices}
    faces, face_ids = _face_gallery()
    return (gr.update(choices=choices, value=[v for v in (current_videos or []) if v in valid]),
            faces, face_ids)


# ---- options, preview, start --------------------------------------------------------------------------

def _options(selection: str, ref_x: float | None, ref_y: float | None, ref_t: float | None,
             face_index: float | None, mapping: str = "") -> dict[str, Any]:
    options: dict[str, Any] = {"face_selection": selection or "one",
                               "reference_time_s": float(ref_t or 0.0),
                               "source_face_index": int(face_index or 0)}
    if ref_x is not None and ref_y is not None and (ref_x or ref_y):
        options["reference_point"] = [float(ref_x), float(ref_y)]
    if mapping and mapping.strip():
        options["face_mapping"] = swap_tasks.mapping_from_text(mapping)
    return options


@user_errors
def _preview(video_ids, face_id, time_s, selection, ref_x, ref_y, ref_t, face_index, mapping=""):
    if not video_ids or not face_id:
        return None, None, notice("pick a source video and a face first", False)
    try:
        result = swap_tasks.preview_swap(video_ids[0], face_id, float(time_s or 0.0),
                                         _options(selection, ref_x, ref_y, ref_t, face_index, mapping))
    except StudioError as exc:
        return None, None, notice(str(exc), False)
    text = (f"frame at {result.time_s:.2f} s: {result.faces} face(s) found, {result.swapped} swapped"
            if result.faces else f"no face found in the frame at {result.time_s:.2f} s")
    return result.before, result.after, notice(text, result.swapped > 0)


@user_errors
def _image_faces(face_id: str | None, name: str | None):
    """(face label, the image with its faces numbered, their boxes, face number 1) for a picked face image."""
    if not face_id:
        return notice("no face picked", False), gr.update(value=None, visible=False), [], 1
    try:
        numbered, boxes = swap_tasks.faces_of_image(face_id)
    except StudioError as exc:
        return notice(str(exc), False), gr.update(value=None, visible=False), [], 1
    if not boxes:
        text = notice(f"face: {name}. No face found in this image: pick another one", False)
    elif len(boxes) == 1:
        text = notice(f"face: {name} (1 face)")
    else:
        text = notice(f"face: {name}. {len(boxes)} faces, numbered largest first: face 1 is used; click "
                      "another one to use it")
    return text, gr.update(value=numbered, visible=True), boxes, 1


def _pick_image_face(boxes: list, evt: gr.SelectData):
    try:
        number = swap_tasks.face_number_at(boxes, tuple(evt.index))
    except StudioError as exc:
        return gr.update(), notice(str(exc), False)
    return number, notice(f"face {number} of the image is used")


def _pick_reference(time_s: float, evt: gr.SelectData):
    x, y = evt.index
    return "reference", x, y, float(time_s or 0.0), notice(f"reference face at ({x}, {y}), {time_s or 0:.2f} s")


def _model_options(swap_model: str | None, enhancer: str | None, blend: float | None,
                   ai_label: bool | None) -> dict[str, Any]:
    return {"swap_model": swap_model or "", "enhancer": enhancer or "", "enhancer_blend": float(blend or 0.0),
            "ai_label": bool(ai_label)}


@user_errors
def _start(video_ids, face_id, provider, selection, ref_x, ref_y, ref_t, face_index, extra=None, mapping=""):
    try:
        result = swap_tasks.create_swap_job(video_ids or [], face_id or "", provider or "local",
                                            {**_options(selection, ref_x, ref_y, ref_t, face_index, mapping),
                                             **(extra or {})})
    except StudioError as exc:
        return notice(str(exc), False), _job_rows()
    count = len(result["job_ids"])
    return notice(f"queued {count} face-swap job(s): {', '.join(short_id(j) for j in result['job_ids'])}"), _job_rows()


# ---- jobs ---------------------------------------------------------------------------------------------

def _job_rows() -> list[list[Any]]:
    rows = []
    for job in job_store.list_jobs(job_type=swap_tasks.JOB_TYPE, limit=50):
        video_id = job.input_payload.get("video_id", "")
        try:
            video_name = library.get_item("video", video_id).name
        except StudioError:
            video_name = f"(deleted {short_id(video_id)})"
        text = job.error_message or job.message
        rows.append([job.id, video_name, job.input_payload.get("provider", ""), job.status, f"{job.progress}%",
                     text, ", ".join(job.output_payload.get("result_ids", []))])
    return rows


@user_errors
def _cancel(job_id: str | None):
    if not job_id:
        return notice("click a job row first", False), _job_rows()
    try:
        job = job_store.cancel_job(job_id)
    except StudioError as exc:
        return notice(str(exc), False), _job_rows()
    return notice(f"job {short_id(job_id)}: {job.status}"), _job_rows()


def _pick_job(evt: gr.SelectData, data):
    job_id = data.iloc[evt.index[0], 0]
    try:
        job = job_store.get_job(job_id)
        source = library.get_item("video", job.input_payload.get("video_id", ""))
        before = str(store.abs_path(source.file))
    except StudioError:
        return job_id, None, None
    after = None
    result_ids = job.output_payload.get("result_ids") or []
    if result_ids:
        try:
            after = str(store.abs_path(library.get_item("video", result_ids[0]).file))
        except StudioError:
            after = None
    return job_id, before, after


# ---- layout -------------------------------------------------------------------------------------------

def build() -> None:
    """Lay out the Swapper tab and register the create_swap_job endpoint."""
    face_ids = gr.State([])
    face_id = gr.State(None)
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Source videos")
            videos = gr.Dropdown(label="Videos to swap (one job each)", multiselect=True, choices=[])
            video_gallery = gr.Gallery(label="Selected", columns=4, height=160, allow_preview=False,
                                       object_fit="contain", fit_columns=False,  # whole frames, small tiles
                                       elem_id="swap-selected")
        with gr.Column():
            gr.Markdown("### Face")
            faces = gr.Gallery(label="Click a library image or character diagram", columns=5, height=240,
                               allow_preview=False, object_fit="contain", fit_columns=False)  # small tiles
            face_label = gr.Markdown("no face picked")
            face_boxes = gr.State([])
            image_faces = gr.Image(label="Faces found in the image (click one to use it)", interactive=False,
                                   height=240, visible=False, elem_id="swap-image-faces")
    with gr.Accordion("Options", open=False):
        with gr.Row():
            provider = gr.Radio(provider_names(), value="local", label="Provider",
                                info="local = offline engine; onnx = learned models (download them in "
                                "Settings > Models); fal = cloud (needs FAL_KEY, billed per second)")
            selection = gr.Radio(SELECTIONS, value="one", label="Faces to replace in the video")
            face_index = gr.Number(value=1, minimum=1, precision=0, label="Face of the image (1 = largest)")
            mapping = gr.Textbox(label="Face mapping (optional)", placeholder="1>1, 2>2",
                                 info="face of the image > face of the video's frame at the reference time, "
                                 "both numbered largest first")
        with gr.Row():
            ref_x = gr.Number(label="Reference x (px)", precision=0)
            ref_y = gr.Number(label="Reference y (px)", precision=0)
            ref_t = gr.Number(value=0.0, label="Reference time (s)")
        with gr.Row():
            settings = get_settings()
            swap_model = gr.Dropdown(list(SWAP_MODEL_INFO), value=settings.swap_onnx_model,
                                     label="onnx engine: swap model")
            enhancer = gr.Dropdown([("none", "")] + [(m, m) for m in ENHANCER_MODELS],
                                   value=settings.swap_enhancer, label="Face enhancer (both engines)")
            enhancer_blend = gr.Slider(0.0, 1.0, value=settings.swap_enhancer_blend, step=0.05,
                                       label="Enhancer blend")
            ai_label = gr.Checkbox(value=settings.swap_ai_label, label="Visible 'AI-generated' label",
                                   info="platforms require disclosing realistic synthetic media")
    with gr.Row():
        time_s = gr.Number(value=1.0, minimum=0, label="Preview frame at (s)")
        preview_btn = gr.Button("Preview one frame")
        refresh_btn = gr.Button("Refresh lists", size="sm")
    preview_msg = gr.Markdown()
    with gr.Row():
        before = gr.Image(label="Before (click a face to make it the reference)", interactive=False)
        after = gr.Image(label="After", interactive=False)
    start_btn = gr.Button("Swap faces", variant="primary")
    start_msg = gr.Markdown()
    gr.Markdown("### Face-swap jobs")
    jobs = gr.Dataframe(headers=["job", "video", "provider", "status", "progress", "step / error", "results"],
                        interactive=False, wrap=True, max_height=320)
    with gr.Row():
        job_id = gr.Textbox(label="Job (click a row)")
        cancel_btn = gr.Button("Cancel job", variant="stop")
    cancel_msg = gr.Markdown()
    with gr.Row():
        source_video = gr.Video(label="Source", interactive=False)
        result_video = gr.Video(label="Face swapped", interactive=False)

    def index_of_face(evt: gr.SelectData, ids: list[str]):
        chosen = ids[evt.index] if 0 <= evt.index < len(ids) else None
        name = evt.value["caption"] if isinstance(evt.value, dict) else chosen
        return (chosen, *_image_faces(chosen, name))

    def face_options(selection_v, rx, ry, rt, index):
        return selection_v, rx, ry, rt, max(int(index or 1) - 1, 0)

    refresh_btn.click(_reload, videos, [videos, faces, face_ids], api_visibility="private")
    on_page_open(_reload, videos, [videos, faces, face_ids])
    videos.change(_selected_videos, videos, video_gallery, api_visibility="private")
    faces.select(index_of_face, face_ids, [face_id, face_label, image_faces, face_boxes, face_index],
                 api_visibility="private")
    image_faces.select(_pick_image_face, face_boxes, [face_index, face_label], api_visibility="private")
    preview_btn.click(
        lambda v, f, t, s, x, y, rt, i, mp: _preview(v, f, t, *face_options(s, x, y, rt, i), mapping=mp),
        [videos, face_id, time_s, selection, ref_x, ref_y, ref_t, face_index, mapping], [before, after, preview_msg],
        api_visibility="private")
    before.select(_pick_reference, time_s, [selection, ref_x, ref_y, ref_t, preview_msg],
                  api_visibility="private")
    start_btn.click(
        lambda v, f, p, s, x, y, rt, i, m, e, b, label, mp: _start(
            v, f, p, *face_options(s, x, y, rt, i), extra=_model_options(m, e, b, label), mapping=mp),
        [videos, face_id, provider, selection, ref_x, ref_y, ref_t, face_index, swap_model, enhancer,
         enhancer_blend, ai_label, mapping], [start_msg, jobs],
        api_visibility="private")
    gr.Timer(1.0).tick(_job_rows, None, jobs, api_visibility="private")
    jobs.select(_pick_job, jobs, [job_id, source_video, result_video], api_visibility="private")
    cancel_btn.click(_cancel, job_id, [cancel_msg, jobs], api_visibility="private")
    api(create_swap_job, "create_swap_job")
    lipsync_ui.build()
