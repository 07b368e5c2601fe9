"""Settings tab: provider keys (masked) with "test connection", the daily spending limit, the data
folder, output defaults, default providers and price tables (read from the settings object).

Keys typed here are saved by ``media.keys`` (in the catalog, so every worker uses them) and never echoed back:
the key box is cleared after saving and only the masked key is shown.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from jobs import provider_check
from media import costs as media_costs
from media import keys as media_keys
from media.errors import InvalidInput, StudioError
from media.settings import Settings, get_settings, hide_url_password
from studio import models_section, providers_ui
from studio.page_open import on_page_open

TITLE = "Settings"

SETTINGS_HEADERS = ["Setting", "Value", "Environment variable", "What it is"]
SETTINGS_WIDTHS = ["24%", "22%", "20%", "34%"]  # fixed shares, long cells wrap: the last column stays on screen
_SECRET_WORDS = ("key", "secret", "token", "password", "auth")
_SOURCE_TEXT = {"environment": "set in the environment", "saved": "saved here", "none": "not set"}


def env_name(field: str, settings_class: type[Settings] = Settings) -> str:
    """The environment variable that sets a settings field (its alias, else ``NOVAI_<FIELD>``)."""
    info = settings_class.model_fields[field]
    alias = info.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    if isinstance(alias, str):
        return alias
    return f"NOVAI_{field.upper()}"


def settings_group(field: str) -> str:
    """Which table a settings field belongs to: prices, providers, output, or general."""
    if "price" in field or (field.endswith("_cents") and field != "daily_cost_limit_cents"):
        return "prices"
    if field.endswith("_provider"):
        return "providers"
    if field.startswith("output_") or any(w in field for w in ("fps", "crf", "preset", "resolution")):
        return "output"
    return "general"


def settings_rows(settings: Settings, group: str) -> list[list[Any]]:
    """Rows (name, value, environment variable, description) of one group; secrets never included."""
    rows = []
    fields = type(settings).model_fields
    for field, info in fields.items():
        if any(word in field for word in _SECRET_WORDS) or settings_group(field) != group:
            continue
        value, env = getattr(settings, field), env_name(field, type(settings))
        if field.endswith("_url") and isinstance(value, str):
            value = hide_url_password(value)  # NOVAI_DATABASE_URL / NOVAI_QUEUE_URL may hold one
        if isinstance(value, dict) and value:  # a table (prices by endpoint/model...): one row per entry
            rows.extend([f"{field}[{key}]", _format_value(entry), env, info.description or ""]
                        for key, entry in value.items())
        else:
            rows.append([field, _format_value(value), env, info.description or ""])
    return rows


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def key_markdown(provider: str) -> str:
    """One provider's key status line: where the key comes from and its masked form."""
    status = media_keys.key_status(provider)
    text = f"**{status.label}:** {_SOURCE_TEXT[status.source]}"
    if status.masked:
        text += f" (`{status.masked}`)"
    return text + f" · environment: `{' / '.join(status.env_names)}`"


def save_key(provider: str, key: str) -> tuple[str, str, str]:
    """Save a typed key; returns (cleared key box, status line, message). Never returns the key."""
    try:
        media_keys.save_key(provider, key)
        message = "Key saved (owner-only file in the data folder)."
    except media_keys.KeyStoreError as exc:
        message = f"Not saved: {exc}"
    return "", key_markdown(provider), message


def forget_key(provider: str) -> tuple[str, str]:
    """Remove a saved key; returns (status line, message)."""
    media_keys.forget_key(provider)
    return key_markdown(provider), "Saved key removed (a key set in the environment stays in force)."


def test_connection(provider: str) -> str:
    """Run the provider's connection test with the configured key and describe the outcome."""
    result = provider_check.check_provider(provider)
    mark = "**OK**" if result.ok else "**Failed:**"
    return f"{mark} {result.message} ({result.seconds:.2f} s)"


def limit_markdown() -> str:
    """The daily limit from the environment, from Settings, and the one in force."""
    limit = media_costs.daily_limit()

    def text(cents: int | None) -> str:
        return "not set" if cents is None else media_costs.format_cents(cents)

    today = media_costs.spend_today()
    return (f"**In force:** {text(limit.effective)}"
            + ("" if limit.effective is not None else " (no limit)")
            + f" · from `DAILY_COST_LIMIT_CENTS`: {text(limit.environment)} · from Settings: {text(limit.ui)}"
            + f" · spent today: {media_costs.format_cents(today)}. When both are set the lower applies.")


def parse_dollars(text: str | float | None) -> int | None:
    """``"5"``, ``"$5.25"``, ``5.25`` -> cents (500, 525, 525); blank -> None; raises InvalidInput otherwise."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    cleaned = str(text).strip().lstrip("$").replace(",", "").strip()
    try:
        dollars = float(cleaned)
    except ValueError:
        raise InvalidInput(f"not an amount in dollars: {text!r} (write e.g. 5 or 5.25)") from None
    if not dollars >= 0 or dollars == float("inf"):
        raise InvalidInput(f"the daily limit must be 0 or more dollars (got {text!r})")
    return round(dollars * 100)


def save_limit(dollars: str | float | None) -> str:
    """Save the daily limit typed in dollars (blank = remove the Settings limit)."""
    try:
        media_costs.set_daily_limit(parse_dollars(dollars))
    except StudioError as exc:
        return f"Not saved: {exc}\n\n" + limit_markdown()
    return limit_markdown()


def clear_limit() -> tuple[str, str]:
    """Remove the limit saved in Settings; returns (cleared box, status)."""
    media_costs.set_daily_limit(None)
    return "", limit_markdown()


def data_folder_markdown(settings: Settings) -> str:
    """Where the studio keeps its state."""
    return (f"**Data folder:** `{settings.data_dir}`  \n**Media folder** (the only folder the app serves "
            f"files from): `{settings.media_dir}`  \n**Catalog:** `{settings.catalog_path}`  \n"
            "Set `NOVAI_DATA_DIR` to move it (on a Hugging Face Space with persistent storage it is "
            "`/data/novai-data`).")


def refresh_tables() -> tuple[list[list[Any]], list[list[Any]], list[list[Any]], list[list[Any]]]:
    """Output defaults, default providers, prices and other settings as table rows."""
    settings = get_settings()
    output, provider_rows, prices, general = (settings_rows(settings, group)
                                              for group in ("output", "providers", "prices", "general"))
    # price tables live in the provider registry; the price settings only override them (shown when set)
    prices = providers_ui.price_rows(env_name) + [row for row in prices if row[1]]
    return output, provider_rows, prices, general


def _provider_block(provider: str) -> gr.Markdown:
    spec = media_keys.get_provider(provider)
    with gr.Group():
        status = gr.Markdown(key_markdown(provider), elem_id=f"settings-{provider}-status")
        key_box = gr.Textbox(label=f"{spec.label} key", type="password",
                             placeholder="paste a key to save it here", elem_id=f"settings-{provider}-key")
    with gr.Row():  # outside the group, whose grey background made the buttons read as plain text
        save = gr.Button("Save key", variant="primary", size="sm", scale=0, min_width=140)
        forget = gr.Button("Forget saved key", variant="secondary", size="sm", scale=0, min_width=160)
        check = gr.Button("Test connection", variant="secondary", size="sm", scale=0, min_width=160,
                          elem_id=f"settings-{provider}-test")
    message = gr.Markdown(elem_id=f"settings-{provider}-message")
    provider_state = gr.State(provider)
    save.click(save_key, inputs=[provider_state, key_box], outputs=[key_box, status, message],
               api_visibility="private")
    key_box.submit(save_key, inputs=[provider_state, key_box], outputs=[key_box, status, message],
                   api_visibility="private")
    forget.click(forget_key, inputs=provider_state, outputs=[status, message], api_visibility="private")
    check.click(test_connection, inputs=provider_state, outputs=message, api_visibility="private")
    return status


def build() -> None:
    """Lay out the tab."""
    settings = get_settings()
    gr.Markdown("### Cloud providers\nEvery tool works without a key (offline default). Keys set in "
                "the environment always win; a key saved here is stored in the catalog (readable by "
                "your user only; on a render farm every worker uses it at once) and shown masked.")
    key_lines = {provider: _provider_block(provider) for provider in media_keys.key_providers()}
    gr.Markdown("### Daily spending limit\nBefore a paid job is queued, its estimate plus today's spend "
                "(UTC day) is checked against this limit; over it, the job is refused and nothing is queued.")
    limit_status = gr.Markdown(limit_markdown(), elem_id="settings-limit-status")
    with gr.Row():
        saved_limit = media_costs.daily_limit().ui
        limit_box = gr.Textbox(label="Daily limit (USD)", placeholder="e.g. 5.00 (blank: no limit from here)",
                               value="" if saved_limit is None else f"{saved_limit / 100:.2f}", scale=2,
                               elem_id="settings-limit")
        save_limit_button = gr.Button("Save limit", size="sm", scale=0, elem_id="settings-limit-save")
        clear_limit_button = gr.Button("Remove limit", size="sm", scale=0)
    save_limit_button.click(save_limit, inputs=limit_box, outputs=limit_status, api_visibility="private")
    limit_box.submit(save_limit, inputs=limit_box, outputs=limit_status, api_visibility="private")
    clear_limit_button.click(clear_limit, outputs=[limit_box, limit_status], api_visibility="private")
    gr.Markdown("### Data folder")
    gr.Markdown(data_folder_markdown(settings))
    models_section.build()
    output_rows, provider_rows, price_rows, other_rows = refresh_tables()
    gr.Markdown("### Output defaults, providers and prices\nRead from the settings; change them with "
                "the environment variables shown (or a `.env` file) and restart.")
    output = gr.Dataframe(output_rows, headers=SETTINGS_HEADERS, label="Output defaults", interactive=False,
                          wrap=True, column_widths=SETTINGS_WIDTHS)
    providers = gr.Dataframe(provider_rows, headers=SETTINGS_HEADERS, label="Default provider per tool",
                             interactive=False, wrap=True, visible=bool(provider_rows),
                             column_widths=SETTINGS_WIDTHS)
    prices = gr.Dataframe(price_rows, headers=SETTINGS_HEADERS, label="Price tables (units in each setting's name)",
                          interactive=False, wrap=True, visible=bool(price_rows), column_widths=SETTINGS_WIDTHS)
    with gr.Accordion("Other settings", open=False):
        other = gr.Dataframe(other_rows, headers=SETTINGS_HEADERS, interactive=False, wrap=True,
                             column_widths=SETTINGS_WIDTHS)
    on_page_open(refresh_tables, None, [output, providers, prices, other])
    on_page_open(limit_markdown, None, limit_status)
    for provider, line in key_lines.items():
        on_page_open(lambda p=provider: key_markdown(p), None, line)
    providers_ui.build()
