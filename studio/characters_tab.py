"""Characters tab: make a character reference diagram from one photo, list, rename, delete, import.

Layout and wiring only; the work is in ``jobs/character_tasks.py`` and ``media/characters/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from jobs import character_tasks
from jobs.character_providers import default_provider, provider_descriptions
from jobs.providers import providers
from media import job_store, library
from media.characters.catalog import suggested_name
from media.errors import InvalidInput, StudioError
from media.job_store import JobNotFound
from studio import animate_ui
from studio.common import api, file_name, file_path, notice, progress_html, short_id

TITLE = "Characters"
PROVIDER_LABELS = [(p.label, p.id) for p in providers("character")]  # the provider registry's
_USER_ERRORS = (StudioError,)  # media.errors: every error a creator can fix (bad photo, name, missing item)


# ---- API functions (named endpoints; see docs/API.md) -------------------------------------------------

def create_character(image_id: str, name: str, provider: str = "local", notes: str = "") -> dict:
    """Start a job making a character diagram from library image ``image_id``.

    ``provider``: ``local`` (offline sheet) or ``gemini`` (needs a key). Returns ``{"job_id",
    "character_id"}``; ``job_status(job_id)["result_ids"]`` holds the new diagram id when done.
    """
    try:
        return character_tasks.create_character(image_id, name, provider, notes)
    except _USER_ERRORS as exc:
        raise gr.Error(str(exc)) from exc


def list_characters() -> list[dict]:
    """Every character, newest first: ``id, name, status, provider, notes, source_image_id, image_id,
    file_path, thumbnail_file, cost_cents, error, created_at, updated_at``."""
    return character_tasks.list_characters()


def rename_character(character_id: str, name: str) -> dict:
    """Rename a character (and its library image); returns the character."""
    try:
        return character_tasks.rename_character(character_id, name)
    except _USER_ERRORS as exc:
        raise gr.Error(str(exc)) from exc


def delete_character(character_id: str) -> dict:
    """Delete a character, its library image and their files; returns ``{"deleted": id}``."""
    try:
        return character_tasks.delete_character(character_id)
    except _USER_ERRORS as exc:
        raise gr.Error(str(exc)) from exc


def regenerate_character(character_id: str) -> dict:
    """A new job for a new diagram from the same photo, name and notes; the old one is kept."""
    try:
        return character_tasks.regenerate_character(character_id)
    except _USER_ERRORS as exc:
        raise gr.Error(str(exc)) from exc


# ---- UI helpers ---------------------------------------------------------------------------------------

def _source_choices() -> list[tuple[str, str]]:
    """Library images that are photos (not diagrams), as (label, id)."""
    return [(f"{row.name} · {row.width}x{row.height}", row.id) for row in library.list_items("image")
            if not row.character_diagram_id]


def _image_path(image_id: str | None) -> str | None:
    if not image_id:
        return None
    try:
        return library.item_dict("image", library.get_item("image", image_id))["file_path"]
    except StudioError:
        return None


def _shown(character: dict) -> bool:
    """In the gallery: ready, with its file still on disk."""
    return character["status"] == "ready" and bool(character["file_path"]) and Path(character["file_path"]).is_file()


def _gallery() -> list[tuple[str, str]]:
    return [(c["thumbnail_file"] or c["file_path"], f"{c['name']} · {c['provider']}")
            for c in character_tasks.list_characters() if _shown(c)]


def _table() -> list[list[Any]]:
    return [[c["id"], c["name"], c["status"], c["provider"], c["created_at"][:16].replace("T", " "),
             c["error"] or ""] for c in character_tasks.list_characters()]


def _describe(character: dict) -> str:
    lines = [f"**{character['name']}** · {character['provider']} · {character['status']}"]
    if character["cost_cents"]:
        lines.append(f"cost {character['cost_cents']} ¢")
    if character["notes"]:
        lines.append(f"notes: {character['notes']}")
    if character["error"]:
        lines.append(f"⚠️ {character['error']}")
    return " · ".join(lines)


def _show(character_id: str | None) -> tuple[Any, str, str]:
    """(large image, description, new-name box) for a character id."""
    if not character_id:
        return None, "", ""
    match = [c for c in character_tasks.list_characters() if c["id"] == character_id]
    if not match:
        return None, notice("that character no longer exists", False), ""
    return match[0]["file_path"], _describe(match[0]), match[0]["name"]


def _upload(upload: Any, name: str):
    if upload is None:
        return gr.update(), None, name, ""
    try:
        added = character_tasks.upload_source_photo(str(file_path(upload)), "")
    except _USER_ERRORS as exc:
        return gr.update(), None, name, notice(str(exc), False)
    label = name or added["name"]
    return (gr.update(choices=_source_choices(), value=added["image_id"]), _image_path(added["image_id"]),
            label, notice(f"added {file_name(upload)} to the library"))


def _pick_source(image_id: str | None, name: str):
    path = _image_path(image_id)
    if not name and image_id:
        labels = {v: k for k, v in _source_choices()}
        name = suggested_name(labels.get(image_id, "").split(" · ")[0])
    return path, name


def _start(result: dict) -> tuple[str, str, Any, Any]:
    return (result["job_id"], notice(f"job {short_id(result['job_id'])} started"), progress_html(0, "queued"),
            gr.Timer(active=True))


def _submit(image_id: str | None, name: str, provider: str, notes: str):
    try:
        if not image_id:
            raise InvalidInput("pick a library image or upload a photo first")
        return _start(character_tasks.create_character(image_id, name, provider, notes))
    except _USER_ERRORS as exc:
        return "", notice(str(exc), False), "", gr.Timer(active=False)


def _regenerate(character_id: str | None):
    try:
        if not character_id:
            raise InvalidInput("select a character first")
        return _start(character_tasks.regenerate_character(character_id))
    except _USER_ERRORS as exc:
        return "", notice(str(exc), False), "", gr.Timer(active=False)


def _poll(job_id: str, selected: str | None):
    """Timer tick: progress of the running job; when it ends, show its result and stop the timer."""
    keep = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
    if not job_id:
        return ("", "", gr.Timer(active=False), selected) + keep
    try:
        job = job_store.get_job(job_id)
    except JobNotFound:
        return (notice("job not found", False), "", gr.Timer(active=False), selected) + keep
    if job.status in ("pending", "queued", "processing"):
        return ("", progress_html(job.progress, job.message), gr.Timer(active=True), selected) + keep
    if job.status != "completed":
        message = notice(f"{job.status}: {job.error_message or job.message}", False)
        return (message, progress_html(job.progress, job.status), gr.Timer(active=False), selected,
                gr.update(), gr.update(), gr.update(), _gallery(), _table())
    new_id = (job.output_payload.get("result_ids") or [selected])[0]
    image, info, name = _show(new_id)
    return (notice("character ready"), progress_html(100, "done"), gr.Timer(active=False), new_id,
            image, info, name, _gallery(), _table())


def _select_gallery(evt: gr.SelectData):
    ready = [c for c in character_tasks.list_characters() if _shown(c)]
    character_id = ready[evt.index]["id"] if 0 <= evt.index < len(ready) else None
    return (character_id, *_show(character_id))


def _select_row(evt: gr.SelectData, data):
    character_id = str(data.iloc[evt.index[0], 0])
    return (character_id, *_show(character_id))


def _rename(character_id: str | None, name: str):
    try:
        if not character_id:
            raise InvalidInput("select a character first")
        renamed = character_tasks.rename_character(character_id, name)
        return notice(f"renamed to {renamed['name']}"), _describe(renamed), _gallery(), _table()
    except _USER_ERRORS as exc:
        return notice(str(exc), False), gr.update(), gr.update(), gr.update()


def _delete(character_id: str | None, confirm: bool):
    try:
        if not character_id:
            raise InvalidInput("select a character first")
        if not confirm:
            raise InvalidInput("tick 'Yes, delete' to confirm")
        character_tasks.delete_character(character_id)
        return notice("deleted"), None, None, "", "", False, _gallery(), _table()
    except StudioError as exc:
        return (notice(str(exc), False), character_id, gr.update(), gr.update(), gr.update(), False,
                gr.update(), gr.update())


def _import(upload: Any, name: str):
    try:
        if upload is None:
            raise InvalidInput("choose a diagram image to import")
        imported = character_tasks.import_character(str(file_path(upload)), name or file_name(upload).rsplit(".", 1)[0])
        return (notice(f"imported {imported['name']}"), imported["id"], imported["file_path"], _describe(imported),
                imported["name"], None, _gallery(), _table())
    except _USER_ERRORS as exc:
        return (notice(str(exc), False), gr.update(), gr.update(), gr.update(), gr.update(), gr.update(),
                gr.update(), gr.update())


# ---- UI -----------------------------------------------------------------------------------------------

def build() -> None:
    """Lay out the tab and register create_character, list_characters, rename_character,
    delete_character and regenerate_character."""
    descriptions = provider_descriptions()
    first = default_provider()
    job_id = gr.State("")
    selected = gr.State(None)
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("### Source photo")
            source = gr.Dropdown(label="Library image", choices=_source_choices(), value=None)
            upload = gr.File(label="…or upload a photo (JPEG, PNG, WebP)", file_types=["image"])
            preview = gr.Image(label="Source", interactive=False, height=240)
            name = gr.Textbox(label="Character name", max_length=80)
            provider = gr.Radio(PROVIDER_LABELS, value=first, label="Provider")
            provider_info = gr.Markdown(descriptions[first])
            notes = gr.Textbox(label="Notes (outfit, style; Gemini follows them, the local sheet prints them)",
                               lines=2, max_lines=6)
            submit = gr.Button("Create character", variant="primary")
            status = gr.Markdown()
            progress = gr.HTML()
        with gr.Column(scale=2):
            result = gr.Image(label="Character diagram", interactive=False, height=520)
            info = gr.Markdown()
            with gr.Row():
                regen_btn = gr.Button("Regenerate (keeps this one)")
                new_name = gr.Textbox(label="Rename to", scale=2)
                rename_btn = gr.Button("Rename")
            with gr.Row():
                confirm = gr.Checkbox(label="Yes, delete", value=False)
                delete_btn = gr.Button("Delete character", variant="stop")
            action_msg = gr.Markdown()
            gallery = gr.Gallery(value=_gallery(), label="Characters", columns=6, height=260,
                                 allow_preview=False)
            table = gr.Dataframe(value=_table(), headers=["id", "name", "status", "provider", "created (UTC)",
                                                          "error"], interactive=False, wrap=True, max_height=260)
            with gr.Accordion("Import an existing diagram as a character", open=False):
                import_file = gr.File(label="Diagram image", file_types=["image"])
                import_name = gr.Textbox(label="Name")
                import_btn = gr.Button("Add as character")

    private = {"api_visibility": "private"}
    upload.upload(_upload, [upload, name], [source, preview, name, status], **private)
    source.focus(lambda v: gr.update(choices=_source_choices(), value=v), source, source, **private)
    source.change(_pick_source, [source, name], [preview, name], **private)
    provider.change(lambda p: descriptions.get(p, ""), provider, provider_info, **private)
    submit.click(_submit, [source, name, provider, notes], [job_id, status, progress, timer], **private)
    regen_btn.click(_regenerate, selected, [job_id, status, progress, timer], **private)
    timer.tick(_poll, [job_id, selected], [status, progress, timer, selected, result, info, new_name, gallery,
                                            table], **private)
    gallery.select(_select_gallery, None, [selected, result, info, new_name], **private)
    table.select(_select_row, table, [selected, result, info, new_name], **private)
    rename_btn.click(_rename, [selected, new_name], [action_msg, info, gallery, table], **private)
    delete_btn.click(_delete, [selected, confirm], [action_msg, selected, result, info, new_name, confirm,
                                                    gallery, table], **private)
    import_btn.click(_import, [import_file, import_name], [action_msg, selected, result, info, new_name,
                                                           import_file, gallery, table], **private)

    api(create_character, "create_character")
    api(list_characters, "list_characters")
    api(rename_character, "rename_character")
    api(delete_character, "delete_character")
    api(regenerate_character, "regenerate_character")
    animate_ui.build()
