"""Small helpers shared by the tabs: file arguments, formatting, choice lists. No work happens here."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from media.errors import StudioError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Wrap a UI handler or API endpoint so that a :class:`media.errors.StudioError` reaches the creator
    as ``gr.Error`` with its message (shown in the page, and as the error text of an API call).

    This is the one place where the error base is mapped to Gradio. Any other exception is logged with its
    traceback and shown as ``gr.Error`` naming its type, never as Gradio's opaque default.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except StudioError as exc:
            raise gr.Error(str(exc)) from exc
        except Exception as exc:  # the UI boundary: nothing reaches the client as {"error": null}
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(f"internal error ({exc.__class__.__name__}); see the studio's log") from exc

    return wrapper  # type: ignore[return-value]


def api(fn: Callable[..., Any], name: str) -> None:
    """Register ``fn`` as the named API endpoint ``name`` (``/name`` for gradio_client), wrapped in
    :func:`user_errors` so that every error reaches the client as a readable message."""
    gr.api(user_errors(fn), api_name=name)


def upload_folder() -> Path:
    """Gradio's upload cache (``GRADIO_TEMP_DIR`` or ``<tmp>/gradio``), where every uploaded file lands."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def file_path(value: Any) -> Path:
    """Path of an uploaded file argument: a path string, a FileData dict or object.

    Only files inside Gradio's upload cache are accepted, so an API caller cannot make the studio read
    other files of the server's disk (``{"path": "/etc/passwd"}``). Raises ``gr.Error`` otherwise.
    """
    if isinstance(value, (str, Path)):
        raw = value
    elif isinstance(value, dict) and value.get("path"):
        raw = value["path"]
    else:
        raw = getattr(value, "path", None) or getattr(value, "name", None)
    if not raw:
        raise gr.Error(f"not a file: {value!r}")
    path = Path(raw).resolve()
    root = upload_folder()
    if root not in path.parents:
        raise gr.Error(f"refused: {path.name} was not uploaded through the studio")
    return path


def file_name(value: Any) -> str:
    """The original file name of an uploaded file (``orig_name`` when Gradio kept it)."""
    if isinstance(value, dict) and value.get("orig_name"):
        return str(value["orig_name"])
    orig = getattr(value, "orig_name", None)
    return str(orig) if orig else file_path(value).name


def fmt_bytes(size: float) -> str:
    """Human size: 1.2 MB."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def fmt_seconds(seconds: float) -> str:
    """m:ss.s for durations."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def short_id(item_id: str | None) -> str:
    """First 8 characters of an id, for labels."""
    return (item_id or "")[:8]


def notice(message: str, ok: bool = True) -> str:
    """A one-line status message for a gr.Markdown."""
    return f"{'✅' if ok else '⚠️'} {message}"


def progress_html(percent: float, label: str = "") -> str:
    """A small progress bar (percent 0-100) as HTML."""
    pct = max(0.0, min(100.0, float(percent)))
    return (f"<div style='border:1px solid #8884;border-radius:6px;height:18px;overflow:hidden'>"
            f"<div style='width:{pct:.0f}%;height:100%;background:#6c5ce7'></div></div>"
            f"<div style='font-size:0.9em'>{pct:.0f}% {label}</div>")


def dropdown_update(choices: list[tuple[str, str]], keep: list[str] | str | None = None) -> Any:
    """gr.update for a dropdown with new (label, value) choices, keeping still-valid selections."""
    values = {value for _, value in choices}
    if isinstance(keep, list):
        return gr.update(choices=choices, value=[v for v in keep if v in values])
    return gr.update(choices=choices, value=keep if keep in values else None)


LAUNCH_ATTEMPTS = 3


def launch_blocks(demo: gr.Blocks, attempts: int = LAUNCH_ATTEMPTS, **options: Any) -> Any:
    """``demo.launch(**options)``, tried up to ``attempts`` times.

    Gradio 6 checks its own URL once with a 3 s HEAD request (``gradio.networking.url_ok``) and raises
    ``ValueError("When localhost is not accessible, a shareable link must be created ...")`` when that
    request times out, which happens on a busy machine although the server is up. That error closes the
    server and launches again; any other error, and the last attempt's, is raised as is.
    """
    for attempt in range(1, attempts + 1):
        try:
            return demo.launch(**options)
        except ValueError as exc:
            if "localhost is not accessible" not in str(exc) or attempt == attempts:
                raise
            log.warning("Gradio could not reach its own URL (attempt %d of %d); launching again", attempt,
                        attempts)
            demo.close()
    return None
