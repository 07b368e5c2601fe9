"""Settings > Models: the downloadable face models (swap models, the ArcFace embedder, face enhancers).

Each model's name, size, licence and source URL are shown before anything is fetched; the creator
ticks "I accept the licence" and presses Download (with a progress bar). The work is
:mod:`media.model_store` (pinned SHA-256, stored under the data folder).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from media import model_store
from media.errors import StudioError
from studio.common import notice, user_errors
from studio.page_open import on_page_open

MODEL_HEADERS = ["Model", "Status", "What it is", "Size (MB)", "Licence", "Commercial use", "Source URL"]


def model_details(name: str | None) -> str:
    """Markdown shown before a download: what it is, size, licence, whether commercial use is allowed,
    source URL, pinned SHA-256 and where it will be stored."""
    if not name:
        return "Pick a model to see its size, licence and source."
    spec = model_store.spec(name)
    needs = f"  \n**Needs:** {', '.join(spec.needs)} (download it too)" if spec.needs else ""
    return (f"**{spec.title}** (`{spec.name}`)  \n**Size:** {spec.size_bytes / 1e6:.0f} MB  \n"
            f"**Licence:** {spec.licence} · commercial use: **{'allowed' if spec.commercial_use else 'not allowed'}**"
            f"  \n**Source:** {model_store.download_url(name)}  \n**SHA-256 (checked):** `{spec.sha256}`  \n"
            f"**Stored at:** `{model_store.model_path(name)}` · "
            f"{'downloaded' if model_store.is_downloaded(name) else 'not downloaded'}{needs}")


@user_errors
def download(name: str | None, accepted: bool, progress=gr.Progress()) -> tuple[Any, str]:  # noqa: B008
    """Download model ``name`` after the licence tick; returns (table rows, details). A refusal (no
    licence tick, a failed download, a wrong checksum) is shown in the details, the table left as it is
    (an event that raises would mark both "Error" and blank the table)."""
    if not name:
        return gr.update(), notice("pick a model first", False)
    progress(0.0, desc=f"downloading {name}")
    try:
        model_store.download_model(name, bool(accepted),
                                   progress=lambda done, total: progress(done / max(total, 1),
                                                                         desc=f"{done / 1e6:.0f} / {total / 1e6:.0f} MB"))
    except StudioError as exc:
        return gr.update(), f"{notice(str(exc), False)}\n\n{model_details(name)}"
    return model_store.catalog_rows(), f"{notice(f'{name} downloaded and its SHA-256 checked')}\n\n{model_details(name)}"


@user_errors
def delete(name: str | None) -> tuple[list[list[Any]], str]:
    """Delete downloaded model ``name``; returns (table rows, details)."""
    if name:
        model_store.delete_model(name)
        from media.face.onnx_models import SESSIONS

        SESSIONS.clear()
    return model_store.catalog_rows(), model_details(name)


def build() -> None:
    """Lay out the Models section (inside the Settings tab)."""
    gr.Markdown("### Models\nLearned face-swap models and face enhancers for the `onnx` engine (and the "
                "enhancer for both engines). Nothing is downloaded until you press **Download**; read the "
                "licence first: several are for non-commercial use only.")
    table = gr.Dataframe(model_store.catalog_rows(), headers=MODEL_HEADERS, interactive=False, wrap=True,
                         elem_id="settings-models-table")
    with gr.Row():
        choice = gr.Dropdown(list(model_store.CATALOG), label="Model", value=None, scale=2,
                             elem_id="settings-models-choice")
        accept = gr.Checkbox(label="I accept the licence", value=False, scale=1, elem_id="settings-models-accept")
        download_button = gr.Button("Download", size="sm", scale=0, elem_id="settings-models-download")
        delete_button = gr.Button("Delete", size="sm", scale=0)
    details = gr.Markdown(model_details(None), elem_id="settings-models-details")
    choice.change(model_details, inputs=choice, outputs=details, api_visibility="private")
    choice.change(lambda _: False, inputs=choice, outputs=accept, api_visibility="private")
    download_button.click(download, inputs=[choice, accept], outputs=[table, details], api_visibility="private")
    delete_button.click(delete, inputs=choice, outputs=[table, details], api_visibility="private")
    on_page_open(model_store.catalog_rows, None, table)
