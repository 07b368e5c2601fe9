"""Characters tab, "Animate" section: a library image or character diagram becomes a short 9:16 video on
fal; and the ``estimate_animation`` / ``create_animation`` endpoints. Work lives in jobs/animate_tasks.py."""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs import animate_tasks
from jobs.providers import providers
from media import library
from media.costs import format_cents
from media.errors import StudioError
from studio.common import api, notice, short_id, user_errors


@user_errors
def estimate_animation(provider: str = "lucy14b", options: dict | None = None) -> dict:
    """Cost of an Animate job before it starts: ``{provider, label, estimate_cents, duration_s,
    price_source}`` (cents, seconds). ``options``: ``duration_s`` (lucy14b: 5; kling21: 5 or 10).
    Errors name an unknown provider or option."""
    return animate_tasks.estimate_animation(provider, options)


@user_errors
def create_animation(image_id: str, prompt: str, provider: str = "lucy14b", options: dict | None = None) -> dict:
    """Animate a library image (or character diagram) into a 9:16 video on fal; returns ``{job_id,
    estimate_cents}``. ``prompt``: the motion (up to 2000 characters); ``provider``: lucy14b (Decart Lucy
    14B) or kling21 (Kling 2.1 standard); ``options``: ``duration_s``. The estimate is reserved against the
    daily limit first; the result is a ``generated`` library video (``job_status(job_id)["result_ids"]``).
    Errors: unknown image, empty prompt, bad option, no FAL_KEY, over the daily limit."""
    return animate_tasks.create_animation(image_id, prompt, provider, options)


def _image_choices() -> list[tuple[str, str]]:
    return [(f"{r.name} · {short_id(r.id)}", r.id) for r in library.list_items("image")]


@user_errors
def _estimate_text(provider: str, duration: Any) -> str:
    try:
        shown = animate_tasks.estimate_animation(provider, {"duration_s": duration})
    except StudioError as exc:
        return notice(str(exc), False)
    return f"Estimated cost: **{format_cents(shown['estimate_cents'])}** ({shown['price_source']})"


@user_errors
def _start(image_id: str | None, prompt: str, provider: str, duration: Any) -> str:
    if not image_id:
        return notice("pick an image first", False)
    try:
        created = animate_tasks.create_animation(image_id, prompt, provider, {"duration_s": duration})
    except StudioError as exc:
        return notice(str(exc), False)
    return notice(f"Animate job {short_id(created['job_id'])} queued ({format_cents(created['estimate_cents'])}"
                  " reserved); follow it in the Jobs tab")


def build() -> None:
    """The Animate section and its endpoints."""
    animate = providers("animate")
    with gr.Accordion("Animate: image to a 9:16 video (fal)", open=False):
        with gr.Row():
            image = gr.Dropdown(label="Image or character diagram", choices=[])
            reload_btn = gr.Button("Reload", size="sm")
        prompt = gr.Textbox(label="Motion prompt", lines=2)
        with gr.Row():
            provider = gr.Radio([(p.label, p.id) for p in animate], value=animate[0].id, label="Model")
            duration = gr.Dropdown([5, 10], value=5, label="Duration (s)")
        estimate = gr.Markdown(_estimate_text(animate[0].id, 5))
        start_btn = gr.Button("Animate", variant="primary")
        message = gr.Markdown()
    reload_btn.click(lambda: gr.update(choices=_image_choices()), None, image, api_visibility="private")
    for comp in (provider, duration):
        comp.change(_estimate_text, [provider, duration], estimate, api_visibility="private")
    start_btn.click(_start, [image, prompt, provider, duration], message, api_visibility="private")
    api(estimate_animation, "estimate_animation")
    api(create_animation, "create_animation")
