"""A render farm on one machine, for the farm test and ``bench/farm.py``: worker processes
(``python -m jobs.worker``) with their own scratch folders, one shared media folder, one catalog and one
queue (SQLite files, or PostgreSQL / Redis servers given by URL), and a batch submitted by a separate
process, as the UI would (``python -m tests.farm.cluster submit ...``).

Sources are cut from the real samples (``shared/samples``): short and small, so a 24-variant batch
renders in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ["Stop scrolling now", "Nobody tells you this", "I tried it for a week", "Watch till the end"]


def cut_sources(samples: Path, folder: Path, seconds: float = 2.0) -> dict[str, list[Path]]:
    """Two short videos (``seconds`` long, 360 px high) and two audio tracks cut from the samples."""
    folder.mkdir(parents=True, exist_ok=True)
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    videos, audios = [], []
    for name in ("retalking_face_2.mp4", "short_hamilton_clip.mp4"):
        out = folder / f"src_{Path(name).stem}.mp4"
        subprocess.run([*ffmpeg, "-i", str(samples / "videos" / name), "-t", str(seconds),
                        "-vf", "scale=-2:360", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", str(out)], check=True, timeout=120)
        videos.append(out)
    for name in ("vctk_p240_00000.mp3", "sms_sax-phrase.wav"):
        out = folder / f"track_{Path(name).stem}.m4a"
        subprocess.run([*ffmpeg, "-i", str(samples / "audio" / name), "-t", str(seconds), "-c:a", "aac", str(out)],
                       check=True, timeout=120)
        audios.append(out)
    return {"videos": videos, "audios": audios}


@dataclass
class Farm:
    """Paths and settings shared by the farm's processes; ``database_url``/``queue_url`` empty = SQLite."""

    root: Path
    lease_s: float = 5.0
    database_url: str = ""
    queue_url: str = ""
    scratch_base: Path | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def media_dir(self) -> Path:
        return self.root / "shared-media"

    def scratch(self, index: int) -> Path:
        return (self.scratch_base or self.root) / f"scratch-{index}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of every farm process (the same settings on every machine)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVAI_")}
        env.update({"NOVAI_DATA_DIR": str(self.data_dir), "NOVAI_MEDIA_DIR": str(self.media_dir),
                    "NOVAI_JOB_LEASE_S": str(self.lease_s), "NOVAI_OUTPUT_PRESET": "ultrafast",
                    "NOVAI_LOUDNESS_NORMALIZE": "false", "PYTHONPATH": str(ROOT)})
        if self.database_url:
            env["NOVAI_DATABASE_URL"] = self.database_url
        if self.queue_url:
            env["NOVAI_QUEUE_URL"] = self.queue_url
        env.update(extra)
        return env

    def point_here(self) -> None:
        """Aim this process's studio modules at the farm (to read its catalog)."""
        for key in [k for k in os.environ if k.startswith("NOVAI_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in self.env().items() if k.startswith("NOVAI_")})
        from media.db import reset_engine
        from media.settings import reset_settings

        reset_settings()
        reset_engine()

    def start_worker(self, index: int, threads: int = 1) -> subprocess.Popen:
        """Start worker ``index`` (its own session, so a kill takes its FFmpeg children too)."""
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"worker-{index}.log", "ab")  # noqa: SIM115 - closed by the process's end
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--workers", str(threads), *(["--no-periodic"] if index else [])],
            cwd=ROOT, env=self.env(NOVAI_SCRATCH_DIR=str(self.scratch(index))), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def wait_ready(self, procs: list[subprocess.Popen], timeout_s: float = 120) -> None:
        """Wait until each worker logged ``ready``; raises RuntimeError with its log if one exits."""
        deadline = time.monotonic() + timeout_s
        for index, proc in enumerate(procs):
            log = self.root / f"worker-{self.workers.index(proc)}.log"
            while b" ready: " not in (log.read_bytes() if log.exists() else b""):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {index} did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)

    def submit(self, sources: dict[str, list[Path]], per_video: int) -> dict:
        """Import the sources and queue a batch from a separate process (as the UI does); returns
        ``{batch_id, total, job_ids}``."""
        args = json.dumps({"videos": [str(p) for p in sources["videos"]],
                           "audios": [str(p) for p in sources["audios"]], "per_video": per_video})
        done = subprocess.run([sys.executable, "-m", "tests.farm.cluster", "submit", args], check=False,
                              cwd=ROOT,
                              env=self.env(), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"submit failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_ui(self, timeout_s: float = 180) -> tuple[subprocess.Popen, str]:
        """Start the UI alone (``python launch.py --no-worker``, no password on loopback) on a free port;
        returns the process and its URL once it answers. Raises RuntimeError with its log if it does not."""
        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log_path = self.root / "ui.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed by the process's end
        proc = subprocess.Popen([sys.executable, "launch.py", "--no-worker", "--no-auth", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=ROOT, env=self.env(NOVAI_SCRATCH_DIR=str(self.scratch(99))),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the UI did not start:\n{log_path.read_text(errors='replace')[-3000:]}")

    def kill(self, proc: subprocess.Popen) -> None:
        """``kill -9`` a worker and every process of its session (its FFmpeg runs), as a machine dies."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(30)

    def stop_all(self, graceful: bool = True, timeout_s: float = 60) -> list[int | None]:
        """SIGTERM (graceful) or SIGKILL every worker still running; returns their exit codes."""
        for proc in self.workers:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
                except ProcessLookupError:
                    pass
        codes = []
        for proc in self.workers:
            try:
                codes.append(proc.wait(timeout_s))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes.append(proc.wait(30))
        return codes

    def worker_id(self, proc: subprocess.Popen) -> str:
        """The id a worker records on the jobs it runs (``media.lease.worker_id``)."""
        return f"{socket.gethostname()}:{proc.pid}"


def start_redis(folder: Path) -> tuple[subprocess.Popen, str] | None:
    """A Redis server from Debian's ``redis-server`` on a free loopback port (no persistence); None
    when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not answer PING")


def submit_through_ui(url: str, sources: dict[str, list[Path]], per_video: int) -> dict:
    """Upload the sources, add the hooks and queue a batch through the UI's API (gradio_client), as a
    creator's browser or script does; returns ``{batch_id, total, job_ids}``."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    videos = client.predict([handle_file(str(p)) for p in sources["videos"]], "video", "", api_name="/upload_media")
    audios = client.predict([handle_file(str(p)) for p in sources["audios"]], "audio", "", api_name="/upload_media")
    failed = [row["error"] for row in videos + audios if row.get("error")]
    if failed:
        raise RuntimeError(f"upload failed: {failed}")
    hook_ids = [h["id"] for h in client.predict("\n".join(HOOKS), "", api_name="/add_hooks")]
    return client.predict([v["id"] for v in videos], [a["id"] for a in audios], hook_ids, per_video,
                          {"hook_duration_s": 1.0}, [], "", api_name="/create_variant_batch")


def _submit(spec: dict) -> None:
    from jobs.variants import create_variant_batch
    from media import hooks, library

    videos = [library.import_file(p, "video") for p in spec["videos"]]
    audios = [library.import_file(p, "audio") for p in spec["audios"]]
    failed = [o.error for o in videos + audios if o.error]
    if failed:
        raise SystemExit(f"import failed: {failed}")
    hook_ids = [h.id for h in hooks.add_hooks("\n".join(HOOKS))]
    created = create_variant_batch([v.id for v in videos], [a.id for a in audios], hook_ids, spec["per_video"],
                                   {"hook_duration_s": 1.0})
    print(json.dumps(created), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["submit"]:
        _submit(json.loads(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m tests.farm.cluster submit '<json>'")
