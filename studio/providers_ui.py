"""Settings tab, "Providers" table: every provider of the registry (jobs/providers) with its tool, key
variables, settings fields, price table and whether it is configured; and the ``list_providers`` endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from jobs.providers import all_providers, providers
from studio.common import api
from studio.page_open import on_page_open

HEADERS = ["tool", "id", "label", "configured", "key variables", "settings", "price", "endpoint"]
# Fixed shares (long cells wrap) so the right-hand columns stay on screen, as the other Settings tables.
WIDTHS = ["8%", "10%", "16%", "8%", "14%", "14%", "12%", "18%"]


def list_providers(tool: str = "") -> list[dict]:
    """Providers of the registry, optionally of one ``tool`` (swap, character, lora, animate, lipsync):
    ``{tool, id, label, configured, key_variables, settings_fields, price: {cents_per_unit, unit,
    base_cents, base_units, source}, price_setting, endpoint}`` (cents; the price in force, with its
    settings override). Errors name an unknown tool."""
    chosen = providers(tool) if tool else all_providers()
    out = []
    for p in chosen:
        price = p.current_price()  # the module's table, or its settings override
        out.append({"tool": p.tool, "id": p.id, "label": p.label, "configured": p.configured(),
                    "key_variables": list(p.key_variables), "settings_fields": list(p.settings_fields),
                    "price": {"cents_per_unit": price.cents_per_unit, "unit": price.unit,
                              "base_cents": price.base_cents, "base_units": price.base_units,
                              "source": price.source},
                    "price_setting": p.price_setting, "endpoint": p.endpoint})
    return out


def price_text(price: dict) -> str:
    """A price row of :func:`list_providers` as text: ``45¢ for 100 steps, then 0.45¢/step (source)``."""
    if not price["cents_per_unit"]:
        return price["source"]
    base = (f"{price['base_cents']:g}¢ for {price['base_units']:g} {price['unit']}s, then "
            if price["base_cents"] else "")
    return f"{base}{price['cents_per_unit']:g}¢/{price['unit']} ({price['source']})"


def price_rows(env_name: Callable[[str], str]) -> list[list[str]]:
    """Settings' price table, read from the registry: ``[tool/id, price in force, environment variable
    that overrides it ('-' when none), label]`` for every paid provider (``env_name``: settings field ->
    its environment variable)."""
    return [[f"{p['tool']}/{p['id']}", price_text(p["price"]),
             env_name(p["price_setting"]) if p["price_setting"] else "-", p["label"]]
            for p in list_providers() if p["price"]["cents_per_unit"] or p["price"]["base_cents"]]


def _rows() -> list[list[Any]]:
    return [[p["tool"], p["id"], p["label"], "yes" if p["configured"] else "no key",
             ", ".join(p["key_variables"]) or "-", ", ".join(p["settings_fields"]) or "-",
             price_text(p["price"]), p["endpoint"] or "-"] for p in list_providers()]


def build() -> None:
    """The Providers table and the ``list_providers`` endpoint."""
    gr.Markdown("### Providers (registry)\nEvery tool's providers, one module each in `jobs/providers/`.")
    table = gr.Dataframe(_rows(), headers=HEADERS, interactive=False, wrap=True, column_widths=WIDTHS)
    on_page_open(_rows, None, table)
    api(list_providers, "list_providers")
