"""Swapper tab, "Lip sync" section: a face video plus an audio track give a lip-synced video on fal; and
the ``estimate_lipsync`` / ``create_lipsync`` endpoints. Work lives in jobs/lipsync_tasks.py."""

from __future__ import annotations

import gradio as gr

from jobs import lipsync_tasks
from jobs.providers import providers
from media import library
from media.costs import format_cents
from media.errors import StudioError
from studio.common import api, notice, short_id, user_errors


@user_errors
def estimate_lipsync(video_id: str, audio_id: str, provider: str = "sync_lipsync") -> dict:
    """Cost of a lip-sync job before it starts: ``{provider, label, estimate_cents, billed_s,
    price_source}`` (billed seconds = min(video, audio) duration). Errors name an unknown video or audio."""
    return lipsync_tasks.estimate_lipsync(video_id, audio_id, provider)


@user_errors
def create_lipsync(video_id: str, audio_id: str, provider: str = "sync_lipsync") -> dict:
    """Lip-sync library video ``video_id`` to library audio ``audio_id`` on fal (Sync Lipsync 2.0); returns
    ``{job_id, estimate_cents}``. The estimate is reserved against the daily limit first; the result is a
    ``lipsync`` library video. Errors: unknown video/audio/provider, no FAL_KEY, over the daily limit."""
    return lipsync_tasks.create_lipsync(video_id, audio_id, provider)


def _choices(kind: str) -> list[tuple[str, str]]:
    return [(f"{r.name} · {short_id(r.id)}", r.id) for r in library.list_items(kind)]


@user_errors
def _estimate(video_id, audio_id, provider) -> str:
    if not video_id or not audio_id:
        return ""
    try:
        shown = lipsync_tasks.estimate_lipsync(video_id, audio_id, provider)
    except StudioError as exc:
        return notice(str(exc), False)
    return (f"Estimated cost: **{format_cents(shown['estimate_cents'])}** for {shown['billed_s']:.1f} s "
            f"({shown['price_source']})")


@user_errors
def _start(video_id, audio_id, provider) -> str:
    if not video_id or not audio_id:
        return notice("pick a video and an audio track", False)
    try:
        created = lipsync_tasks.create_lipsync(video_id, audio_id, provider)
    except StudioError as exc:
        return notice(str(exc), False)
    return notice(f"lip-sync job {short_id(created['job_id'])} queued "
                  f"({format_cents(created['estimate_cents'])} reserved)")


def build() -> None:
    """The Lip sync section and its endpoints."""
    options = providers("lipsync")
    with gr.Accordion("Lip sync: a face video + an audio track (fal)", open=False):
        with gr.Row():
            video = gr.Dropdown(label="Face video", choices=[])
            audio = gr.Dropdown(label="Audio track", choices=[])
            reload_btn = gr.Button("Reload", size="sm")
        provider = gr.Radio([(p.label, p.id) for p in options], value=options[0].id, label="Provider")
        estimate = gr.Markdown()
        start_btn = gr.Button("Lip sync", variant="primary")
        message = gr.Markdown()
    reload_btn.click(lambda: (gr.update(choices=_choices("video")), gr.update(choices=_choices("audio"))),
                     None, [video, audio], api_visibility="private")
    for comp in (video, audio, provider):
        comp.change(_estimate, [video, audio, provider], estimate, api_visibility="private")
    start_btn.click(_start, [video, audio, provider], message, api_visibility="private")
    api(estimate_lipsync, "estimate_lipsync")
    api(create_lipsync, "create_lipsync")
