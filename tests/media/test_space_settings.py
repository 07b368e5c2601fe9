"""On a Hugging Face Space the data folder goes to persistent storage (/data) unless one is chosen."""

from __future__ import annotations

from media.settings import Settings, _default_data_dir


def test_space_with_persistent_storage_uses_it(tmp_path, monkeypatch):
    monkeypatch.delenv("NOVAI_DATA_DIR", raising=False)
    monkeypatch.setenv("SPACE_ID", "novai/studio")
    assert _default_data_dir(Settings(_env_file=None), tmp_path) == tmp_path / "novai-data"


def test_space_without_persistent_storage_keeps_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NOVAI_DATA_DIR", raising=False)
    monkeypatch.setenv("SPACE_ID", "novai/studio")
    assert _default_data_dir(Settings(_env_file=None), tmp_path / "absent") is None


def test_not_a_space_or_folder_chosen_keeps_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("NOVAI_DATA_DIR", raising=False)
    assert _default_data_dir(Settings(_env_file=None), tmp_path) is None
    monkeypatch.setenv("SPACE_ID", "novai/studio")
    monkeypatch.setenv("NOVAI_DATA_DIR", str(tmp_path / "mine"))
    assert _default_data_dir(Settings(_env_file=None), tmp_path) is None


def test_data_folder_from_a_dotenv_file_wins_too(tmp_path, monkeypatch):
    monkeypatch.delenv("NOVAI_DATA_DIR", raising=False)
    monkeypatch.setenv("SPACE_ID", "novai/studio")
    env_file = tmp_path / ".env"
    env_file.write_text(f"NOVAI_DATA_DIR={tmp_path / 'from-dotenv'}\n")
    settings = Settings(_env_file=env_file)
    assert settings.data_dir == tmp_path / "from-dotenv"
    assert _default_data_dir(settings, tmp_path) is None
