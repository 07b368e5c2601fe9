"""NOVAI Studio core: catalog, file store and media processing. Never imports gradio."""
