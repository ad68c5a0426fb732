"""Dialogs: opened with `open()` and answered through signals, never `exec()`."""
