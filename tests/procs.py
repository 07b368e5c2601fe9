"""Code run in child processes by the fault tests (spawned, so it must live in an importable module)."""

from __future__ import annotations

import os


def point_at(data_dir: str, **env: str) -> None:
    """Aim this process's studio at ``data_dir`` (and set ``env``) before any studio module is used."""
    os.environ["NOVAI_DATA_DIR"] = data_dir
    os.environ.pop("NOVAI_QUEUE_IMMEDIATE", None)
    os.environ.update(env)
    from media.db import reset_engine
    from media.settings import reset_settings

    reset_settings()
    reset_engine()


def submit_gemini_character(data_dir: str, image_id: str, barrier, results) -> None:
    """Wait at ``barrier`` with the other submitter, then ask for a Gemini character; put the outcome
    (``accepted <job id>`` or ``refused <message>``) on ``results``. Nothing runs the queue here."""
    point_at(data_dir, GOOGLE_API_KEY="gemini-fake-key-000000")
    from jobs.character_tasks import create_character
    from media.costs import SpendLimitExceeded

    barrier.wait(timeout=60)
    try:
        started = create_character(image_id, f"race {os.getpid()}", provider="gemini")
    except SpendLimitExceeded as exc:
        results.put(f"refused {exc}")
    else:
        results.put(f"accepted {started['job_id']}")
