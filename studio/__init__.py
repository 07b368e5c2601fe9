"""NOVAI Studio UI: Gradio layout only; the work lives in jobs/ and media/."""
