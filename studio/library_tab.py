"""Library tab: Videos, Audios, Hooks, Images, Models, and collections. Layout and wiring only."""

from __future__ import annotations

from typing import Any

import gradio as gr
from sqlmodel import select

from jobs.library import import_uploads
from media import collections as colls
from media import hooks as hook_store
from media import library, validate
from media.db import session_scope
from media.errors import StudioError
from media.models import LoraModel
from studio.common import api, file_name, file_path, fmt_bytes, fmt_seconds, notice
from studio.page_open import on_page_open

TITLE = "Library"
FILE_TYPES = {"video": ["video", ".mp4", ".mov", ".mkv", ".webm"], "audio": ["audio", ".mp3", ".wav", ".m4a",
              ".aac", ".ogg", ".flac"], "image": ["image", ".png", ".jpg", ".jpeg", ".webp"]}


# ---- API functions (named endpoints; see docs/API.md) -------------------------------------------------

def upload_media(files: list[Any], kind: str, collection: str = "") -> list[dict]:
    """Store uploaded files as library items of ``kind`` (video | audio | image).

    One dict per file: ``{name, id, error}``; ``id`` when stored, ``error`` naming the reason when refused.
    """
    if kind not in library.MEDIA_KINDS:
        return [{"name": "", "id": None, "error": f"unknown kind {kind!r}; use video, audio or image"}]
    pairs = [(file_path(f), file_name(f)) for f in (files or [])]
    return import_uploads(pairs, kind, collection)


def list_media(kind: str, collection: str = "") -> list[dict]:
    """Library items of ``kind`` (newest first), each with ``id``, ``name``, ``path`` and metadata."""
    validate.one_of(kind, "kind", library.MEDIA_KINDS)
    collection = validate.text(collection, "collection")
    return [library.item_dict(kind, row) for row in library.list_items(kind, collection)]


def add_hooks(text: str, category: str = "") -> list[dict]:
    """Add one hook per non-empty line of ``text``; returns ``[{id, text, category}]``."""
    text = validate.text(text, "text", empty_ok=False)
    category = validate.text(category, "category")
    return [{"id": h.id, "text": h.text, "category": h.category} for h in hook_store.add_hooks(text, category)]


def list_hooks(category: str = "") -> list[dict]:
    """Hooks in the order they were added, optionally of one category."""
    return [{"id": h.id, "text": h.text, "category": h.category}
            for h in hook_store.list_hooks(category or None)]


def media_file(media_id: str) -> str:
    """The stored file of any library item (video, audio or image) by id, for download."""
    kind, row = library.find_item(media_id)
    return library.item_dict(kind, row)["file_path"]


# ---- UI helpers ---------------------------------------------------------------------------------------

def _collection_choices(kind: str) -> list[tuple[str, str]]:
    return [(c.name, c.id) for c in colls.list_collections(kind)]


def _gallery_items(kind: str, collection: str | None) -> list[tuple[str, str]]:
    items = []
    for row in library.list_items(kind, collection or "", limit=library.PAGE_SIZE):  # newest page (issue 15)
        data = library.item_dict(kind, row)
        if kind == "video":
            caption = f"{row.name} · {fmt_seconds(row.duration_s)} · {row.width}x{row.height}"
        else:
            caption = f"{row.name} · {row.width}x{row.height}"
        items.append((data.get("thumbnail_file") or data["file_path"], caption))
    return items


def _table(kind: str, collection: str | None) -> list[list[Any]]:
    names = {c.id: c.name for c in colls.list_collections(kind)}
    rows = []
    for row in library.list_items(kind, collection or "", limit=library.PAGE_SIZE):
        base = [row.id, row.name, names.get(row.collection_id, "")]
        if kind == "video":
            base += [fmt_seconds(row.duration_s), f"{row.width}x{row.height}", f"{row.fps:.2f}",
                     "yes" if row.has_audio else "no", row.type]
        elif kind == "audio":
            base += [fmt_seconds(row.duration_s), f"{row.sample_rate} Hz", row.channels, row.codec]
        else:
            base += [f"{row.width}x{row.height}", row.format]
        rows.append(base + [fmt_bytes(row.size_bytes)])
    return rows


HEADERS = {
    "video": ["id", "name", "collection", "duration", "size", "fps", "audio", "type", "bytes"],
    "audio": ["id", "name", "collection", "duration", "sample rate", "channels", "codec", "bytes"],
    "image": ["id", "name", "collection", "size", "format", "bytes"],
}


def _refresh(kind: str, collection: str | None):
    choices = _collection_choices(kind)
    gallery = gr.update(value=_gallery_items(kind, collection)) if kind != "audio" else gr.update()
    return (gallery, _table(kind, collection),
            gr.update(choices=[("All", "")] + choices), gr.update(choices=choices))


def _do_upload(kind: str, files, collection: str | None, current_filter: str | None):
    if not files:
        return (notice("choose files to upload first", False), *_refresh(kind, current_filter))
    outcomes = upload_media(files, kind, collection or "")
    stored = [o for o in outcomes if o["id"]]
    refused = [o for o in outcomes if o["error"]]
    lines = [notice(f"stored {len(stored)} {kind} file(s)", not refused)]
    lines += [f"- refused **{o['name']}**: {o['error']}" for o in refused]
    return ("\n".join(lines), *_refresh(kind, current_filter))


def _select_row(kind: str, evt: gr.SelectData, table):
    row_index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    try:
        item_id = table.iloc[row_index, 0] if hasattr(table, "iloc") else table[row_index][0]
    except (IndexError, KeyError):
        return None, gr.update(), ""
    row = library.get_item(kind, item_id)
    path = library.item_dict(kind, row)["file_path"]
    return item_id, gr.update(value=path), row.name


def _select_gallery(kind: str, collection: str | None, evt: gr.SelectData):
    rows = library.list_items(kind, collection or "", limit=library.PAGE_SIZE)  # the gallery's page
    if evt.index is None or evt.index >= len(rows):
        return None, gr.update(), ""
    row = rows[evt.index]
    return row.id, gr.update(value=library.item_dict(kind, row)["file_path"]), row.name


def _act(action, kind: str, item_id: str | None, *args):
    if not item_id:
        return notice("select an item first", False)
    try:
        action(kind, item_id, *args)
    except StudioError as exc:
        return notice(str(exc), False)
    return notice("done")


def _delete(kind: str, item_id: str | None, confirm: bool):
    if not confirm:
        return notice("tick 'confirm delete' first", False), None
    message = _act(library.delete_item, kind, item_id)
    if message.startswith(notice("done")):
        return notice("deleted: press 'Undo delete' to bring it back (kept 7 days)"), item_id
    return message, None


def _undo(item_id: str | None):
    if not item_id:
        return notice("nothing to undo", False), None
    try:
        kind, name = library.restore_item(item_id)
    except library.LibraryError as exc:
        return notice(str(exc), False), None
    return notice(f"restored {kind} {name}"), None


def _media_section(kind: str, label: str) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            upload = gr.File(label=f"Upload {label.lower()} (several at once)", file_count="multiple",
                             file_types=FILE_TYPES[kind])
            with gr.Row():
                upload_to = gr.Dropdown(label="into collection (new name creates it)", choices=[],
                                        allow_custom_value=True, value=None)
                upload_btn = gr.Button(f"Add {label.lower()}", variant="primary")
            upload_msg = gr.Markdown()
        with gr.Column(scale=1):
            preview = (gr.Video(label="Preview", interactive=False) if kind == "video" else
                       gr.Audio(label="Preview", interactive=False, type="filepath") if kind == "audio" else
                       gr.Image(label="Preview", interactive=False, type="filepath"))
    with gr.Row():
        filter_coll = gr.Dropdown(label="Show collection", choices=[("All", "")], value="")
        refresh_btn = gr.Button("Refresh", size="sm")
    gallery = gr.Gallery(label=label, columns=6, height=300, allow_preview=False, object_fit="contain",
                         visible=kind != "audio")
    table = gr.Dataframe(headers=HEADERS[kind], interactive=False, wrap=True, max_height=300)
    selected = gr.State(None)
    with gr.Accordion("Selected item: rename, move, delete", open=False):
        with gr.Row():
            name_box = gr.Textbox(label="Name")
            rename_btn = gr.Button("Rename")
        with gr.Row():
            move_to = gr.Dropdown(label="Move to collection", choices=[], allow_custom_value=True)
            move_btn = gr.Button("Move")
        with gr.Row():
            confirm = gr.Checkbox(label="confirm delete", value=False)
            delete_btn = gr.Button("Delete", variant="stop")
            undo_btn = gr.Button("Undo delete")
        action_msg = gr.Markdown()
    last_deleted = gr.State(None)

    outputs = [gallery, table, filter_coll, move_to]
    kind_state = gr.State(kind)
    upload_btn.click(_do_upload, [kind_state, upload, upload_to, filter_coll], [upload_msg, *outputs],
                     api_visibility="private").then(lambda: None, None, upload)
    refresh_btn.click(_refresh, [kind_state, filter_coll], outputs, api_visibility="private")
    filter_coll.change(_refresh, [kind_state, filter_coll], outputs, api_visibility="private")
    table.select(_select_row, [kind_state, table], [selected, preview, name_box], api_visibility="private")
    gallery.select(_select_gallery, [kind_state, filter_coll], [selected, preview, name_box],
                   api_visibility="private")
    rename_btn.click(lambda k, i, n: _act(library.rename_item, k, i, n), [kind_state, selected, name_box],
                     action_msg, api_visibility="private").then(_refresh, [kind_state, filter_coll], outputs)
    move_btn.click(lambda k, i, c: _act(library.move_item, k, i, c or ""), [kind_state, selected, move_to],
                   action_msg, api_visibility="private").then(_refresh, [kind_state, filter_coll], outputs)
    delete_btn.click(_delete, [kind_state, selected, confirm], [action_msg, last_deleted],
                     api_visibility="private").then(
        _refresh, [kind_state, filter_coll], outputs).then(lambda: (None, False), None, [selected, confirm])
    undo_btn.click(_undo, last_deleted, [action_msg, last_deleted], api_visibility="private").then(
        _refresh, [kind_state, filter_coll], outputs)
    upload_to.focus(lambda: gr.update(choices=_collection_choices(kind)), None, upload_to)
    _LOADERS.append((_refresh, [kind_state, filter_coll], outputs))


_LOADERS: list = []


def _hooks_table(category: str | None) -> list[list[str]]:
    """The first :data:`library.PAGE_SIZE` hooks (of ``category``), column-only (issue 15)."""
    return [list(row) for row in library.hook_page(category=category or "")[0]]


def _category_choices() -> list[tuple[str, str]]:
    return [("All", "")] + [(c, c) for c in hook_store.list_categories()]


def _add_hooks_ui(text: str, category: str | None, hook_file, current: str | None):
    try:
        added = []
        if text and text.strip():
            added += hook_store.add_hooks(text, category or "")
        if hook_file is not None:
            pairs = hook_store.parse_hook_file(file_path(hook_file))
            added += hook_store.add_hook_pairs([(t, c or category or "") for t, c in pairs])
    except StudioError as exc:
        return notice(str(exc), False), _hooks_table(current), gr.update(choices=_category_choices())
    message = notice(f"added {len(added)} hook(s)") if added else notice("type hooks or choose a file", False)
    return message, _hooks_table(current), gr.update(choices=_category_choices())


def _hooks_section() -> None:
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Hooks: one per line", lines=5,
                              placeholder="Stop scrolling. This changed how I edit forever.")
        with gr.Column(scale=1):
            category = gr.Dropdown(label="Category", choices=[], allow_custom_value=True)
            hook_file = gr.File(label="…or a .txt / .csv file (text[,category])", file_types=[".txt", ".csv"])
            add_btn = gr.Button("Add hooks", variant="primary")
    add_msg = gr.Markdown()
    filter_cat = gr.Dropdown(label="Show category", choices=[("All", "")], value="")
    table = gr.Dataframe(headers=["id", "text", "category"], interactive=False, wrap=True, max_height=400,
                         column_widths=["18%", "64%", "18%"])
    selected = gr.State(None)
    with gr.Accordion("Selected hook: edit or delete", open=False):
        edit_text = gr.Textbox(label="Text")
        edit_cat = gr.Textbox(label="Category")
        with gr.Row():
            save_btn = gr.Button("Save")
            confirm = gr.Checkbox(label="confirm delete", value=False)
            delete_btn = gr.Button("Delete", variant="stop")
        edit_msg = gr.Markdown()

    def select(evt: gr.SelectData, data):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        values = data.iloc[row].tolist() if hasattr(data, "iloc") else data[row]
        return values[0], values[1], values[2]

    def save(hook_id, new_text, new_cat):
        if not hook_id:
            return notice("select a hook first", False)
        try:
            hook_store.update_hook(hook_id, new_text, new_cat)
        except hook_store.HookError as exc:
            return notice(str(exc), False)
        return notice("saved")

    def delete(hook_id, ok):
        if not hook_id:
            return notice("select a hook first", False)
        if not ok:
            return notice("tick 'confirm delete' first", False)
        try:
            hook_store.delete_hooks([hook_id])
        except library.LibraryError as exc:
            return notice(str(exc), False)
        return notice("deleted")

    def reload(cat):
        return _hooks_table(cat), gr.update(choices=_category_choices()), gr.update(
            choices=[c for _, c in _category_choices() if c])

    add_btn.click(_add_hooks_ui, [text, category, hook_file, filter_cat], [add_msg, table, filter_cat],
                  api_visibility="private").then(lambda: ("", None), None, [text, hook_file])
    filter_cat.change(lambda c: _hooks_table(c), filter_cat, table, api_visibility="private")
    table.select(select, table, [selected, edit_text, edit_cat], api_visibility="private")
    save_btn.click(save, [selected, edit_text, edit_cat], edit_msg, api_visibility="private").then(
        reload, filter_cat, [table, filter_cat, category])
    delete_btn.click(delete, [selected, confirm], edit_msg, api_visibility="private").then(
        reload, filter_cat, [table, filter_cat, category])
    _LOADERS.append((reload, [filter_cat], [table, filter_cat, category]))


def _models_table() -> list[list[Any]]:
    with session_scope() as session:
        rows = list(session.exec(select(LoraModel)))
    return [[m.id, m.name, m.trigger_word, m.status, m.rank or "", m.training_steps, fmt_bytes(m.size_bytes)]
            for m in rows]


def _collections_section() -> None:
    gr.Markdown("Collections group videos, audio tracks or images; the Variants tab selects by collection.")
    with gr.Row():
        kind = gr.Radio(["video", "audio", "image"], value="video", label="Type")
        new_name = gr.Textbox(label="New collection name")
        create_btn = gr.Button("Create")
    table = gr.Dataframe(headers=["id", "name", "type"], interactive=False)
    with gr.Row():
        coll_id = gr.Textbox(label="Collection id (click a row)")
        rename_to = gr.Textbox(label="Rename to")
        rename_btn = gr.Button("Rename")
        delete_btn = gr.Button("Delete (items stay, ungrouped)", variant="stop")
    msg = gr.Markdown()

    def rows():
        return [[c.id, c.name, c.type] for c in colls.list_collections()]

    def run(fn, *args):
        try:
            fn(*args)
        except colls.CollectionError as exc:
            return notice(str(exc), False), rows()
        return notice("done"), rows()

    create_btn.click(lambda n, k: run(colls.find_or_create_collection, n, k), [new_name, kind], [msg, table],
                     api_visibility="private")
    rename_btn.click(lambda i, n: run(colls.rename_collection, i, n), [coll_id, rename_to], [msg, table],
                     api_visibility="private")
    delete_btn.click(lambda i: run(colls.delete_collection, i), coll_id, [msg, table], api_visibility="private")
    def pick(evt: gr.SelectData, data):
        return data.iloc[evt.index[0], 0]

    table.select(pick, table, coll_id, api_visibility="private")
    _LOADERS.append((rows, [], [table]))


def build() -> None:
    """Lay out the Library sub-tabs and register upload_media, list_media, add_hooks, list_hooks, media_file."""
    _LOADERS.clear()
    with gr.Tabs():
        with gr.Tab("Videos"):
            _media_section("video", "Videos")
        with gr.Tab("Audios"):
            _media_section("audio", "Audios")
        with gr.Tab("Hooks"):
            _hooks_section()
        with gr.Tab("Images"):
            _media_section("image", "Images")
        with gr.Tab("Models"):
            gr.Markdown("LoRA models (train or import them in the LoRA Creator tab).")
            models = gr.Dataframe(headers=["id", "name", "trigger word", "status", "rank", "steps", "bytes"],
                                  interactive=False)
            gr.Button("Refresh", size="sm").click(_models_table, None, models, api_visibility="private")
            _LOADERS.append((_models_table, [], [models]))
        with gr.Tab("Collections"):
            _collections_section()
    for fn, inputs, outputs in _LOADERS:  # fill every list when the page opens
        on_page_open(fn, inputs, outputs)
    api(upload_media, "upload_media")
    api(list_media, "list_media")
    api(add_hooks, "add_hooks")
    api(list_hooks, "list_hooks")
    api(media_file_api, "media_file")


def media_file_api(media_id: str) -> gr.FileData:
    """``media_file`` endpoint: the stored file of a library item, downloaded by the client."""
    return gr.FileData(path=media_file(media_id))
