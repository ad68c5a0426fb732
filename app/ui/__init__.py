"""The Qt window (PySide6 + qasync). Only this package and `app.main` import Qt.

Widgets show and emit; controllers (`controllers/`) own state and asyncio tasks and reach the
Qt-free core (`app.chat`, `app.store`, `app.api`) only through `controllers/library.py`;
`app.py` builds them and `main_window.py` wires them to the widgets.
"""
