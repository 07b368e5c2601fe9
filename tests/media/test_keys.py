"""Keys entered in Settings: saved in the catalog (owner-only SQLite file), masked, never above the
environment; an older studio's keys.json moves into the catalog."""

from __future__ import annotations

import json
import stat

import pytest

from media import keys
from media.settings import get_settings
from media.stored_settings import read_setting


def test_saved_key_is_in_the_owner_only_catalog_and_fills_settings(fresh_data_dir):
    status = keys.save_key("fal", "  fal-key-1234567890abcdef  ")
    catalog = fresh_data_dir / "catalog.sqlite3"
    assert stat.S_IMODE(catalog.stat().st_mode) == 0o600
    assert read_setting(keys.KEYS_SETTING) == {"fal": "fal-key-1234567890abcdef"}
    assert not (fresh_data_dir / keys.KEYS_FILE_NAME).exists()
    assert status.source == "saved"
    assert status.masked == "••••••••cdef"
    assert get_settings().fal_key == "fal-key-1234567890abcdef"
    assert get_settings().gemini_api_key == ""


def test_catalog_stays_private_after_rewrite_and_forget(fresh_data_dir):
    keys.save_key("fal", "a" * 20)
    keys.save_key("gemini", "g" * 30)
    status = keys.forget_key("fal")
    assert stat.S_IMODE((fresh_data_dir / "catalog.sqlite3").stat().st_mode) == 0o600
    assert read_setting(keys.KEYS_SETTING) == {"gemini": "g" * 30}
    assert status.source == "none" and status.masked == ""
    assert get_settings().fal_key == ""
    assert get_settings().gemini_api_key == "g" * 30


def test_environment_wins_and_saving_over_it_is_refused(fresh_data_dir, monkeypatch):
    keys.save_key("gemini", "saved-gemini-key-0000")
    monkeypatch.setenv("GEMINI_API_KEY", "env-gemini-key-99999")
    from media.settings import reset_settings

    reset_settings()
    assert get_settings().gemini_api_key == "env-gemini-key-99999"
    status = keys.key_status("gemini")
    assert status.source == "environment"
    assert status.masked.endswith("9999") and "env-gemini" not in status.masked
    with pytest.raises(keys.KeyStoreError, match="already set in the environment"):
        keys.save_key("gemini", "another-key-000000000")


@pytest.mark.parametrize("bad, reason", [("", "no fal.ai key"), ("   ", "no fal.ai key"),
                                         ("two words", "spaces"), ("x\n" * 3, "spaces"),
                                         ("k" * 600, "longer than")])
def test_bad_keys_are_refused_with_the_reason(fresh_data_dir, bad, reason):
    with pytest.raises(keys.KeyStoreError, match=reason):
        keys.save_key("fal", bad)
    assert not (fresh_data_dir / keys.KEYS_FILE_NAME).exists()


def test_unknown_provider_is_named():
    with pytest.raises(keys.KeyStoreError, match="unknown provider 'openai'"):
        keys.save_key("openai", "abc")


def test_mask_never_shows_more_than_four_characters_or_a_short_key():
    assert keys.mask_key("") == ""
    assert keys.mask_key("short-key-123") == "••••••••"
    masked = keys.mask_key("sk-verysecretvalue-WXYZ")
    assert masked == "••••••••WXYZ"
    assert "secret" not in masked


def test_corrupt_keys_file_is_ignored(fresh_data_dir):
    get_settings()  # creates the data folder
    (fresh_data_dir / keys.KEYS_FILE_NAME).write_text("{not json")
    assert keys.read_saved_keys() == {}
    assert keys.key_status("fal").source == "none"


def test_an_older_studios_keys_file_moves_into_the_catalog(fresh_data_dir):
    keys.save_key("gemini", "g" * 30)  # already in the catalog: kept over the file's
    (fresh_data_dir / keys.KEYS_FILE_NAME).write_text(json.dumps({"fal": "f" * 24, "gemini": "old" * 8}))
    from media.settings import reset_settings

    reset_settings()
    assert get_settings().fal_key == "f" * 24 and get_settings().gemini_api_key == "g" * 30
    assert read_setting(keys.KEYS_SETTING) == {"fal": "f" * 24, "gemini": "g" * 30}
    assert not (fresh_data_dir / keys.KEYS_FILE_NAME).exists()
    assert stat.S_IMODE((fresh_data_dir / "catalog.sqlite3").stat().st_mode) == 0o600


def test_settings_repr_never_shows_keys(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("FAL_KEY", "env-fal-secret-0000000")
    keys.save_key("gemini", "saved-gemini-secret-000")
    from media.settings import reset_settings

    reset_settings()
    settings = get_settings()
    assert settings.fal_key and settings.gemini_api_key
    for text in (repr(settings), str(settings)):
        assert "secret" not in text
