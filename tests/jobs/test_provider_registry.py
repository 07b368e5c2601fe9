"""One provider registry (issue 14): a provider is one module plus one registry line; every tool reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobs import animate_tasks, character_providers, providers, swap_providers
from jobs.queue import huey
from media import job_store, library

ROOT = Path(__file__).resolve().parents[2]


def test_a_dummy_provider_is_one_module_and_one_line(monkeypatch, fresh_data_dir, fal_fake, samples):
    monkeypatch.setattr(providers, "PROVIDER_MODULES", (*providers.PROVIDER_MODULES, "tests.jobs.dummy_provider"))
    assert "dummy" in [p.id for p in providers.providers("animate")]
    assert animate_tasks.estimate_animation("dummy", {"duration_s": 6})["estimate_cents"] == 9
    image = library.import_file(samples / "photos" / "obama.jpg", "image").id
    url = fal_fake.add_file("out.mp4", (samples / "videos" / "retalking_face_2.mp4").read_bytes(), "video/mp4")
    fal_fake.script("dummy-org/dummy-i2v", result={"video": {"url": url}})
    huey.immediate = True
    try:
        created = animate_tasks.create_animation(image, "waves", "dummy", {"duration_s": 3})
    finally:
        huey.immediate = False
    job = job_store.get_job(created["job_id"])
    assert job.status == "completed", job.error_message
    (sub,) = fal_fake.submissions.values()
    assert (sub.arguments["text"], sub.arguments["seconds"]) == ("waves", 3)
    assert job.cost_cents == 5  # 1.5 cents x 3 s, rounded up


def test_swap_and_character_providers_come_from_the_registry():
    assert swap_providers.implementations() == {p.id: p.impl for p in providers.providers("swap")}
    assert swap_providers.provider_keys()["fal"] == ("fal_key", "FAL_KEY")
    assert "local" not in swap_providers.provider_keys()
    assert character_providers.provider_names() == ("local", "gemini")
    assert type(character_providers.get_provider("local")).__name__ == "LocalCharacterProvider"
    with pytest.raises(ValueError, match="unknown character provider 'x'"):
        character_providers.get_provider("x")


def test_every_provider_declares_what_the_settings_tab_needs():
    from media.settings import Settings

    for p in providers.all_providers():
        assert p.label and p.tool in providers.TOOLS
        assert all(f in Settings.model_fields for f in p.settings_fields), p.id
        if p.key_variables:
            assert p.key_setting in Settings.model_fields
        assert p.impl or p.endpoint, p.id


def test_the_fal_swap_path_does_not_load_the_local_face_engine(samples):
    code = ("import sys; sys.modules['mediapipe'] = None\n"  # any import of MediaPipe now fails
            "import jobs.swap_tasks as t, jobs.swap_providers as sp\n"
            "p = sp.load_provider('fal'); print(type(p).__name__)\n"
            f"t._check_face_image(__import__('pathlib').Path({str(samples / 'photos' / 'obama.jpg')!r}), p, None)\n"
            "assert 'media.face.landmarks' not in sys.modules, 'local face engine was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "FalSwapProvider"


def test_settings_lists_the_registry(fresh_data_dir, monkeypatch):
    from studio import providers_ui

    monkeypatch.delenv("FAL_KEY", raising=False)
    rows = {(r["tool"], r["id"]): r for r in providers_ui.list_providers()}
    assert {("swap", "local"), ("swap", "fal"), ("character", "gemini"), ("animate", "lucy14b"),
            ("lipsync", "sync_lipsync")} <= set(rows)
    assert rows[("swap", "local")]["configured"] is True
    assert rows[("animate", "lucy14b")]["price"]["cents_per_unit"] == 8.0
    assert [r["id"] for r in providers_ui.list_providers("lipsync")] == ["sync_lipsync"]
    assert all(len(row) == len(providers_ui.HEADERS) for row in providers_ui._rows())


def _with(monkeypatch, *modules):
    monkeypatch.setattr(providers, "PROVIDER_MODULES", (*providers.PROVIDER_MODULES, *modules))


def test_a_dummy_key_account_reaches_the_key_store_the_check_and_settings(monkeypatch, fresh_data_dir):
    from jobs import provider_check
    from media import keys
    from studio import providers_ui, settings_tab

    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.delenv("NOVAI_FAL_KEY", raising=False)
    assert "dummycloud" not in keys.key_providers()
    with pytest.raises(ValueError, match="unknown provider 'dummycloud'; known: fal, gemini"):
        provider_check.check_provider("dummycloud")
    _with(monkeypatch, "tests.jobs.dummy_keyed_provider")
    entry = keys.key_providers()["dummycloud"]
    assert (entry.label, entry.env_names, entry.field) == ("Dummy Cloud", ("FAL_KEY", "NOVAI_FAL_KEY"), "fal_key")
    assert providers.key_accounts()["dummycloud"].providers == ("lipsync/dummy_sync",)
    assert "Dummy Cloud" in settings_tab.key_markdown("dummycloud") and "not set" in settings_tab.key_markdown(
        "dummycloud")
    result = provider_check.check_provider("dummycloud")
    assert (result.ok, result.message) == (False, "dummycloud saw key none")
    keys.save_key("dummycloud", "dk-0123456789abcdef")
    assert keys.key_status("dummycloud").source == "saved"
    result = provider_check.check_provider("dummycloud")  # the saved key is in force through the settings
    assert (result.ok, result.message) == (True, "dummycloud saw key ••••••••cdef")
    row = next(r for r in providers_ui.list_providers("lipsync") if r["id"] == "dummy_sync")
    assert row["configured"] is True and row["price"]["cents_per_unit"] == 2.0
    assert [r[0] for r in providers_ui.price_rows(settings_tab.env_name)].count("lipsync/dummy_sync") == 1


def test_providers_of_one_account_must_agree(monkeypatch):
    import types

    rogue = types.ModuleType("tests.jobs.rogue_provider")
    rogue.PROVIDER = providers.Provider(id="rogue", label="Rogue", tool="animate", endpoint="x/y",
                                        check="tests.jobs.dummy_keyed_provider:check_dummy")
    monkeypatch.setitem(sys.modules, "tests.jobs.rogue_provider", rogue)
    _with(monkeypatch, "tests.jobs.rogue_provider")
    with pytest.raises(ValueError, match="animate/rogue declares account 'fal' unlike swap/fal"):
        providers.key_accounts()


def test_key_variables_are_the_settings_aliases_and_checks_load():
    from media.settings import Settings

    accounts = providers.key_accounts()
    assert list(accounts) == ["fal", "gemini"]
    for account in accounts.values():
        alias = Settings.model_fields[account.key_setting].validation_alias
        assert account.key_variables == tuple(alias.choices), account.id
        assert callable(providers.load_check(account.check))
    assert set(accounts["fal"].providers) >= {"swap/fal", "lora/fal", "animate/lucy14b", "lipsync/sync_lipsync"}


def test_prices_come_from_the_registry_and_settings_only_override(monkeypatch, fresh_data_dir):
    from jobs import fal, lora_api, lora_tasks
    from jobs.character_providers.gemini import GeminiConfig
    from media.settings import reset_settings

    for name in ("NOVAI_FAL_PRICES", "NOVAI_SWAP_PRICE_CENTS_PER_SECOND", "NOVAI_GEMINI_IMAGE_PRICE_CENTS"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    assert lora_tasks.estimate_training_cents(1000) == 450 and lora_tasks.estimate_training_cents(50) == 45
    assert lora_api.estimate_lora_training(1000)["usd_per_step"] == 0.0045
    assert providers.get_provider("swap", "fal").current_price().cents_per_unit == 10.0
    assert GeminiConfig.from_settings().price_cents == 7.0
    monkeypatch.setenv("NOVAI_FAL_PRICES", '{"fal-ai/wan-22-image-trainer": {"usd_per_unit": 0.01, "min_units": 200}}')
    monkeypatch.setenv("NOVAI_GEMINI_IMAGE_PRICE_CENTS", '{"gemini-3.1-flash-image": 4}')
    reset_settings()
    assert lora_tasks.estimate_training_cents(1000) == 1000 and lora_tasks.estimate_training_cents(50) == 200
    assert fal.estimate_cost_cents("fal-ai/wan-22-image-trainer", 300) == 300
    assert GeminiConfig.from_settings().price_cents == 4.0
    monkeypatch.setenv("NOVAI_GEMINI_IMAGE_MODEL", "gemini-unlisted")  # unlisted: never under-counted
    reset_settings()
    assert GeminiConfig.from_settings().price_cents == 7.0
    monkeypatch.setenv("NOVAI_GEMINI_IMAGE_PRICE_CENTS", '{"gemini-3.1-flash-image": 12}')
    reset_settings()
    assert GeminiConfig.from_settings().price_cents == 12.0


def test_character_default_and_key_refusal_read_the_registry(monkeypatch, fresh_data_dir):
    from jobs import character_tasks
    from media.settings import reset_settings

    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "NOVAI_GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    assert character_providers.default_provider() == "local"
    with pytest.raises(ValueError, match="needs GOOGLE_API_KEY or GEMINI_API_KEY or NOVAI_GEMINI_API_KEY"):
        character_tasks._registry_entry("gemini")
    monkeypatch.setenv("GEMINI_API_KEY", "g-0123456789abcdef")
    reset_settings()
    assert character_providers.default_provider() == "gemini"
    assert character_tasks._registry_entry("gemini").id == "gemini"


def test_offline_swap_providers_are_the_keyless_ones(monkeypatch):
    from jobs import swap_tasks

    assert set(swap_tasks._offline_providers()) == {"local", "onnx"}
    monkeypatch.setattr(providers, "PROVIDER_MODULES",
                        tuple(m for m in providers.PROVIDER_MODULES if m != "jobs.providers.swap_onnx"))
    assert swap_tasks._offline_providers() == ("local",)


def test_no_tool_compares_provider_ids_outside_the_registry():
    """Choosing a provider by if/elif on its id is what the registry replaces."""
    import re

    pattern = re.compile(r"""provider\w*\s*(==|!=)\s*["']""")
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in ("jobs", "studio", "media")
             for path in (ROOT / folder).rglob("*.py") if "providers" not in path.parts
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_a_new_character_or_swap_provider_is_picked_up_from_its_registry_line(monkeypatch):
    import types

    from jobs import character_tasks

    entry = types.ModuleType("tests.jobs.sheet_provider")
    entry.PROVIDER = providers.Provider(id="sheet2", label="Second sheet", tool="character", key_variables=(),
                                        settings_fields=(),
                                        impl="jobs.character_providers.local:LocalCharacterProvider")
    swap = types.ModuleType("tests.jobs.swap2_provider")
    swap.PROVIDER = providers.Provider(id="swap2", label="Second swap", tool="swap",
                                       settings_fields=("fal_key",), impl="jobs.swap_providers.fal_swap:FalSwapProvider")
    monkeypatch.setitem(sys.modules, "tests.jobs.sheet_provider", entry)
    monkeypatch.setitem(sys.modules, "tests.jobs.swap2_provider", swap)
    with pytest.raises(ValueError, match="unknown character provider 'sheet2'"):
        character_tasks._registry_entry("sheet2")
    _with(monkeypatch, "tests.jobs.sheet_provider", "tests.jobs.swap2_provider")
    assert character_providers.provider_names() == ("local", "gemini", "sheet2")
    assert character_tasks._registry_entry("sheet2").label == "Second sheet"
    assert type(character_providers.get_provider("sheet2")).__name__ == "LocalCharacterProvider"
    assert "swap2" in swap_providers.provider_names()
    assert swap_providers.provider_keys()["swap2"] == ("fal_key", "FAL_KEY")
    assert type(swap_providers.load_provider("swap2")).__name__ == "FalSwapProvider"
