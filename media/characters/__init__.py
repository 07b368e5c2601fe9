"""Character diagrams: the offline reference sheet (face alignment, palette, layout) and the catalog."""
