"""Test set-up: every test session gets its own data folder, before any studio module is imported."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Shared fixtures: ``fal_fake`` (a loopback fake of fal's queue + storage, tests/fakes/fal_server.py);
# ``postgres_server``/``postgres_url`` and ``redis_server``/``redis_url`` (real servers, tests/servers.py).
pytest_plugins = ["tests.fakes.fal_server", "tests.servers"]

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="novai-test-"))
os.environ["NOVAI_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ.setdefault("NOVAI_OUTPUT_PRESET", "ultrafast")
for _key in ("FAL_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "DAILY_COST_LIMIT_CENTS"):
    os.environ.pop(_key, None)

SAMPLES = (Path(__file__).resolve().parent.parent.parent / "shared" / "samples")


@pytest.fixture(scope="session")
def samples() -> Path:
    """``../shared/samples`` (real media); tests needing it skip with the reason if it is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample media not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture
def fresh_data_dir(tmp_path, monkeypatch):
    """Point the catalog and media folder at an empty data folder for one test."""
    from media.db import reset_engine
    from media.settings import reset_settings

    monkeypatch.setenv("NOVAI_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    reset_engine()
    yield tmp_path / "data"
    reset_engine()
    reset_settings()


@pytest.fixture
def uploaded():
    """Copy a file into Gradio's upload cache, as the browser's upload does; returns the cached path.

    The studio accepts uploaded-file arguments only from there (studio/common.py ``file_path``).
    """
    import shutil

    from studio.common import upload_folder

    folder = Path(tempfile.mkdtemp(prefix="test-upload-", dir=_ensure(upload_folder())))

    def put(path: str | Path) -> str:
        return str(shutil.copy(path, folder / Path(path).name))

    yield put
    import shutil as _shutil

    _shutil.rmtree(folder, ignore_errors=True)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
