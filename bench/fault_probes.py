"""Fault probes of issue 10 ("Done means"), run by hand; prints a Markdown table.

    PYTHONPATH=. python bench/fault_probes.py            # all probes (as root; about 2-4 minutes)
    PYTHONPATH=. python bench/fault_probes.py batch disk  # some of them

Every probe uses real processes on a fresh data folder under /tmp and the sample media in
``../shared/samples``: a Huey consumer killed with SIGKILL mid-batch, an import killed mid-copy, a data
folder on a 20 MiB tmpfs, a catalog bind-mounted read-only, two processes asking for a paid Gemini
character at the same instant. The full-disk and read-only probes need root (mount); without it they
report "skipped". Each row says what was checked: nothing lost, no row left active, every error readable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
ACTIVE = ("pending", "queued", "processing")


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NOVAI_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
           "NOVAI_OUTPUT_PRESET": "ultrafast", **extra}
    env.pop("NOVAI_QUEUE_IMMEDIATE", None)
    return env


def py(data: Path, code: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process on data folder ``data``; the last stdout line is JSON."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=_env(data, **env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def result(proc: subprocess.CompletedProcess):
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child failed (rc {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def consumer(data: Path, workers: int = 2) -> subprocess.Popen:
    """A Huey consumer process (thread workers) in its own process group."""
    return subprocess.Popen([sys.executable, "-m", "huey.bin.huey_consumer", "jobs.tasks.huey", "-w", str(workers),
                             "-k", "thread", "-d", "0.1", "-m", "0.5"], cwd=ROOT, env=_env(data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


STATE = """
import json
from collections import Counter
from media import batches, job_store
from media.store import media_root
jobs = job_store.list_jobs(limit=10000)
errors = sorted({j.error_message for j in jobs if j.error_message})
parts = [str(p) for p in media_root().rglob('*.part.mp4')]
out = {"jobs": dict(Counter(j.status for j in jobs)), "errors": errors, "parts": parts,
       "batches": {b.id: batches.batch_status(b.id) for b in batches.list_batches()}}
print(json.dumps(out, default=str))
"""


def state(data: Path) -> dict:
    return result(py(data, STATE))


def readable(errors: list[str], data: Path) -> bool:
    """No absolute server path, no raw SQL, no bare exception type, never empty or 'None'."""
    bad = re.compile(r"\[SQL:|Traceback|OperationalError:|^None$|^$")
    return all(str(data) not in e and "/tmp/" not in e and not bad.search(e) for e in errors)


def setup_library(data: Path, hooks: int) -> dict:
    return result(py(data, f"""
        import json
        from media import library
        from media.hooks import add_hooks
        video = library.import_file({str(SAMPLES / 'videos' / 'short_hamilton_clip.mp4')!r}, 'video')
        assert video.id, video.error
        rows = add_hooks('\\n'.join(f'Hook number {{i}} for the probe' for i in range({hooks})))
        print(json.dumps({{"video": video.id, "hooks": [h.id for h in rows]}}))
    """))


def submit_batch(data: Path, lib: dict, per_video: int) -> dict:
    return result(py(data, f"""
        import json
        from jobs.variants import create_variant_batch
        print(json.dumps(create_variant_batch([{lib['video']!r}], [], {lib['hooks']!r}, {per_video},
                                              {{"hook_duration_s": 0}})))
    """))


def wait_batch(data: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        now = state(data)
        if not any(now["jobs"].get(s) for s in ACTIVE) or time.monotonic() > deadline:
            return now
        time.sleep(1)


# --- the probes ------------------------------------------------------------------------------------

def probe_batch(base: Path) -> tuple[str, str]:
    """kill -9 of the worker process mid-batch, then the next start (recovery + consumer)."""
    data = base / "batch"
    lib = setup_library(data, 6)
    created = submit_batch(data, lib, 6)
    worker = consumer(data)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = state(data)
        if now["jobs"].get("completed", 0) >= 1 and now["jobs"].get("processing"):
            break
        time.sleep(0.3)
    before = state(data)
    kill_group(worker)
    recovered = result(py(data, "from jobs.recovery import recover_interrupted_jobs as r; print(r())"))
    worker = consumer(data)
    after = wait_batch(data, 300)
    kill_group(worker)
    batch = after["batches"][created["batch_id"]]
    ok = (batch["done"] == 6 and not any(after["jobs"].get(s) for s in ACTIVE) and not after["parts"])
    return ("PASS" if ok else "FAIL",
            (f"killed with {before['jobs']} ; start-up recovered {recovered} ; after: {after['jobs']}, batch "
            f"{batch['status']} {batch['done']}/{batch['total']}, .part files left {len(after['parts'])}"))


def probe_upload(base: Path) -> tuple[str, str]:
    """kill -9 of a process importing a 400 MB video, then the next start."""
    data = base / "upload"
    big = base / "long_upload.mp4"
    shutil.copyfile(SAMPLES / "videos" / "retalking_face_2.mp4", big)
    os.truncate(big, 400 * 2**20)
    code = f"from media import library; print(library.import_file({str(big)!r}, 'video').to_dict())"
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(data),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    media = data / "media"
    seen = None
    while seen is None and child.poll() is None:
        for folder in ("videos", "tmp"):
            for path in (media / folder).rglob("*") if (media / folder).is_dir() else []:
                try:
                    if path.is_file() and 0 < path.stat().st_size < big.stat().st_size:
                        seen = path
                except FileNotFoundError:
                    pass
        time.sleep(0.001)
    child.kill()
    child.wait()
    in_videos = [p.name for p in (media / "videos").glob("*")] if (media / "videos").is_dir() else []
    result(py(data, "from jobs.recovery import recover_interrupted_jobs as r; print(r())"))
    rows = result(py(data, "from media import library; print(len(library.list_items('video')))"))
    scratch = [p for p in (media / "tmp").rglob("*") if p.is_file()]
    ok = seen is not None and not in_videos and rows == 0 and not scratch
    where = seen.relative_to(media).parts[0] + "/" if seen else "nothing (import ended first)"
    return ("PASS" if ok else "FAIL",
            (f"killed while copying into {where}; videos/ after kill: {in_videos or 'empty'}; rows: {rows}; "
            f"tmp/ after the next start: {len(scratch)} files"))


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def probe_disk(base: Path) -> tuple[str, str]:
    """The data folder on a 20 MiB tmpfs: a 16-variant batch fills it."""
    disk = base / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)):
        return "skipped", "needs root to mount a tmpfs"
    try:
        data = disk / "data"
        warn = py(data, "import launch; print(len(launch.warn_about_data_folder()))")
        lib = setup_library(data, 16)
        created = submit_batch(data, lib, 16)
        worker = consumer(data)
        full = wait_batch(data, 400)
        kill_group(worker)
        # Space comes back (the creator deletes something); the next start ends any kept outcome.
        for path in (data / "media" / "variants").rglob("*.mp4"):
            path.unlink()
        recovered = result(py(data, "from jobs.recovery import recover_interrupted_jobs as r; print(r())"))
        after = state(data)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    batch = full["batches"][created["batch_id"]]
    errors = full["errors"]
    ok = (not any(full["jobs"].get(s) for s in ACTIVE) and not any(after["jobs"].get(s) for s in ACTIVE)
          and readable(errors, data) and batch["status"] not in ("running", "queued"))
    sample = "; ".join(errors)[:300] or "none"
    return ("PASS" if ok else "FAIL",
            (f"start-up warning: {'WARNING' in warn.stderr}; jobs when the queue drained: {full['jobs']}; batch "
            f"{batch['status']} ({batch['done']} done, {batch['failed']} failed); errors: {sample}; after "
            f"the next start ({recovered} recovered): {after['jobs']}"))


def probe_read_only(base: Path) -> tuple[str, str]:
    """The catalog file mounted read-only: start-up warns, every write says why it failed."""
    if os.geteuid() != 0:
        return "skipped", "needs root to bind-mount the catalog read-only"
    data = base / "readonly"
    lib = setup_library(data, 1)
    catalog = data / "catalog.sqlite3"
    if not (_mount("--bind", str(catalog), str(catalog)) and _mount("-o", "remount,bind,ro", str(catalog))):
        return "skipped", "bind mount failed"
    try:
        warn = py(data, "import launch; print(len(launch.warn_about_data_folder()))")
        writes = result(py(data, f"""
            import json
            from jobs.variants import create_variant_batch
            from media import library
            from media.hooks import add_hooks
            from media.errors import StudioError
            out = {{"import": library.import_file({str(SAMPLES / 'photos' / 'obama.jpg')!r}, 'image').error}}
            for name, call in (("add_hooks", lambda: add_hooks("a hook")),
                               ("create_variant_batch", lambda: create_variant_batch([{lib['video']!r}], [], [], 1))):
                try:
                    call()
                    out[name] = "accepted?!"
                except StudioError as exc:
                    out[name] = str(exc)
                except Exception as exc:
                    out[name] = f"NOT A StudioError: {{exc.__class__.__name__}}: {{exc}}"
            print(json.dumps(out))
        """))
        api = api_calls(data, [("/upload_media", "upload"), ("/add_hooks", "a hook", "")])
        writes["api upload_media"], writes["api add_hooks"] = api
        now = state(data)
    finally:
        subprocess.run(["umount", "-l", str(catalog)], check=False)
    messages = [m or "" for m in writes.values()]
    ok = ("WARNING: the catalog" in warn.stderr and all("read-only" in m for m in messages)
          and readable(messages, data) and not any(now["jobs"].get(s) for s in ACTIVE))
    warning = next((ln for ln in warn.stderr.splitlines() if "WARNING" in ln), "no warning")
    return ("PASS" if ok else "FAIL",
            (f"start-up: {warning[:160]}...; import error: {writes['import'][:120]}...; add_hooks / "
            f"create_variant_batch raise StudioError: {all('NOT A' not in m for m in messages)}; API "
            f"/upload_media answers: {writes['api upload_media'][:170]}; /add_hooks answers: "
            f"{writes['api add_hooks'][:160]}"))


def api_calls(data: Path, calls: list[tuple]) -> list[str]:
    """Start ``launch.py`` on ``data`` and make each ``(api_name, *args)`` call through gradio_client
    (``"upload"`` stands for an uploaded sample photo); returns what each answered or raised, as text."""
    import socket

    from gradio_client import Client, handle_file

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = subprocess.Popen([sys.executable, "launch.py", "--port", str(port)], cwd=ROOT, env=_env(data),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or app.poll() is not None:
                    return ["the studio did not start"] * len(calls)
                time.sleep(1)
        answers = []
        for api_name, *args in calls:
            if args[0] == "upload":
                args = [[handle_file(str(SAMPLES / "photos" / "obama.jpg"))], "image", ""]
            try:
                answers.append(json.dumps(client.predict(*args, api_name=api_name), default=str))
            except Exception as exc:  # noqa: BLE001 - the error text is what is probed
                answers.append(str(exc) or repr(exc))
        return answers
    finally:
        kill_group(app)


def probe_spend(base: Path) -> tuple[str, str]:
    """Two processes ask for a 7-cent Gemini character at the same instant under a 10-cent limit."""
    data = base / "spend"
    image = result(py(data, f"""
        import json
        from media import costs, library
        costs.set_daily_limit(10)
        print(json.dumps(library.import_file({str(SAMPLES / 'photos' / 'obama.jpg')!r}, 'image').id))
    """))
    code = f"""
        import json, time
        from jobs.character_tasks import create_character
        from media.costs import SpendLimitExceeded
        while not __import__('os').path.exists({str(base / 'go')!r}):
            time.sleep(0.001)
        try:
            print(json.dumps("accepted " + create_character({image!r}, "race", provider="gemini")["job_id"]))
        except SpendLimitExceeded as exc:
            print(json.dumps("refused: " + str(exc)))
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                              env=_env(data, GOOGLE_API_KEY="gemini-fake-key-000000"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(8)  # both imported and waiting
    (base / "go").write_text("go")
    answers = sorted(json.loads(p.communicate(timeout=120)[0].splitlines()[-1]) for p in procs)
    summary = result(py(data, "import json; from media import costs; print(json.dumps(costs.limit_summary()))"))
    ok = answers[0].startswith("accepted") and answers[1].startswith("refused")
    return ("PASS" if ok else "FAIL",
            (f"{answers[0][:8]} / {answers[1][:150]}...; reserved now {summary['reserved_cents']}¢, "
            f"left today {summary['left_today_cents']}¢"))


PROBES = {"batch": ("kill -9 mid-batch", probe_batch), "upload": ("kill -9 mid-upload", probe_upload),
          "disk": ("full disk (20 MiB tmpfs data folder)", probe_disk),
          "readonly": ("read-only catalog", probe_read_only),
          "spend": ("two paid submissions at the same instant (2 processes)", probe_spend)}


def main(names: list[str]) -> None:
    base = Path(tempfile.mkdtemp(prefix="novai-probes-"))
    print("| probe | result | what was seen | seconds |\n|---|---|---|---|")
    for name in names or list(PROBES):
        label, probe = PROBES[name]
        started = time.monotonic()
        try:
            verdict, seen = probe(base)
        except Exception as exc:  # noqa: BLE001 - a probe that breaks is a finding, reported in the table
            verdict, seen = "ERROR", f"{exc.__class__.__name__}: {str(exc)[-400:]}"
        seen = seen.replace("|", "/").replace("\n", " ")
        print(f"| {label} | {verdict} | {seen} | {time.monotonic() - started:.0f} |", flush=True)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
