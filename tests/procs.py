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


def submit_gemini_character(data_dir: str, image_id: str, barrier, results, **env: str) -> None:
    """Wait at ``barrier`` with the other submitter, then ask for a Gemini character; put the outcome
    (``accepted <job id>`` or ``refused <message>``) on ``results``. Nothing runs the queue here.
    ``env``: more ``NOVAI_*`` settings (e.g. ``NOVAI_DATABASE_URL``)."""
    point_at(data_dir, GOOGLE_API_KEY="gemini-fake-key-000000", **env)
    from jobs.character_tasks import create_character
    from media.costs import SpendLimitExceeded

    barrier.wait(timeout=60)
    try:
        started = create_character(image_id, f"race {os.getpid()}", provider="gemini")
    except SpendLimitExceeded as exc:
        results.put(f"refused {exc}")
    else:
        results.put(f"accepted {started['job_id']}")


def run_failing_variant_job(data_dir: str, job_id: str) -> None:
    """Run variant job ``job_id`` through the job boundary (its work fails), print what happened, exit.

    Used on a read-only catalog: the outcome cannot be written and must be kept for the next start.
    """
    point_at(data_dir)
    import jobs.variant_tasks  # noqa: F401  (registers the variant end handler)
    from jobs.runner import pending_outcomes, run_job

    def work() -> dict:
        raise ValueError("the hook font is missing")

    status = run_job(job_id, work)
    print(f"status={status} pending={','.join(pending_outcomes())}", flush=True)


def import_video(data_dir: str, path: str) -> None:
    """Import ``path`` into the library of ``data_dir`` (the test kills this process mid-copy)."""
    point_at(data_dir)
    from media import library

    print(library.import_file(path, "video").to_dict(), flush=True)
