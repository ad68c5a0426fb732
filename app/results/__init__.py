"""Turning an answer into things that leave the app: tables as CSV, code blocks as files,
video timestamps as seek targets. Qt-free, so the CLI and the window share it."""
