"""Rendering: Markdown → HTML for Qt's rich text, and the safe text browsers that show it."""
