"""Keys entered in Settings: 0600 file in the data folder, masked, never above the environment."""

from __future__ import annotations

import json
import stat

import pytest

from media import keys
from media.settings import get_settings


def test_saved_key_file_is_owner_only_and_fills_settings(fresh_data_dir):
    status = keys.save_key("fal", "  fal-key-1234567890abcdef  ")
    path = fresh_data_dir / keys.KEYS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"fal": "fal-key-1234567890abcdef"}
    assert status.source == "saved"
    assert status.masked == "••••••••cdef"
    assert get_settings().fal_key == "fal-key-1234567890abcdef"
    assert get_settings().gemini_api_key == ""


def test_file_stays_private_after_rewrite_and_forget(fresh_data_dir):
    keys.save_key("fal", "a" * 20)
    keys.save_key("gemini", "g" * 30)
    status = keys.forget_key("fal")
    path = fresh_data_dir / keys.KEYS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"gemini": "g" * 30}
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
    assert keys.read_saved_keys(fresh_data_dir) == {}
    assert keys.key_status("fal").source == "none"


def test_settings_repr_never_shows_keys(fresh_data_dir, monkeypatch):
    monkeypatch.setenv("FAL_KEY", "env-fal-secret-0000000")
    keys.save_key("gemini", "saved-gemini-secret-000")
    from media.settings import reset_settings

    reset_settings()
    settings = get_settings()
    assert settings.fal_key and settings.gemini_api_key
    for text in (repr(settings), str(settings)):
        assert "secret" not in text
