"""Widgets: show what they are given (setters) and report what the user did (signals)."""
