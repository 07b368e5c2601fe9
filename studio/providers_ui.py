"""Settings tab, "Providers" table: every provider of the registry (jobs/providers) with its tool, key
variables, settings fields, price table and whether it is configured; and the ``list_providers`` endpoint."""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs.providers import all_providers, providers
from studio.common import api

HEADERS = ["tool", "id", "label", "configured", "key variables", "settings", "price", "endpoint"]


def list_providers(tool: str = "") -> list[dict]:
    """Providers of the registry, optionally of one ``tool`` (swap, character, lora, animate, lipsync):
    ``{tool, id, label, configured, key_variables, settings_fields, price: {cents_per_unit, unit,
    base_cents, base_units, source}, endpoint}`` (cents). Errors name an unknown tool."""
    chosen = providers(tool) if tool else all_providers()
    return [{"tool": p.tool, "id": p.id, "label": p.label, "configured": p.configured(),
             "key_variables": list(p.key_variables), "settings_fields": list(p.settings_fields),
             "price": {"cents_per_unit": p.price.cents_per_unit, "unit": p.price.unit,
                       "base_cents": p.price.base_cents, "base_units": p.price.base_units,
                       "source": p.price.source},
             "endpoint": p.endpoint} for p in chosen]


def _rows() -> list[list[Any]]:
    out = []
    for p in list_providers():
        price = p["price"]
        if not price["cents_per_unit"]:
            text = price["source"]
        else:
            base = (f"{price['base_cents']:g}¢ for {price['base_units']:g} {price['unit']}s, then "
                    if price["base_cents"] else "")
            text = f"{base}{price['cents_per_unit']:g}¢/{price['unit']} ({price['source']})"
        out.append([p["tool"], p["id"], p["label"], "yes" if p["configured"] else "no key",
                    ", ".join(p["key_variables"]) or "-", ", ".join(p["settings_fields"]) or "-", text,
                    p["endpoint"] or "-"])
    return out


def build() -> None:
    """The Providers table and the ``list_providers`` endpoint."""
    gr.Markdown("### Providers (registry)\nEvery tool's providers, one module each in `jobs/providers/`.")
    table = gr.Dataframe(_rows(), headers=HEADERS, interactive=False, wrap=True)
    demo = gr.context.Context.root_block
    if demo is not None:
        demo.load(_rows, outputs=table, api_visibility="private")
    api(list_providers, "list_providers")
