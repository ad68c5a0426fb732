"""The Qt window (PySide6 + qasync). Only this package and `app.main` import Qt.

Widgets show and emit; controllers (`controller.py`, `AttachmentController`, `Library`) own
the asyncio tasks and talk to the Qt-free core (`app.chat`, `app.store`, `app.api`).
"""
