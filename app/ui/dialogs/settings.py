"""Settings: API key, endpoint, defaults, transport. A form only; the window saves and tests.

Opened with `open()` (never `exec()`: a modal loop inside a coroutine breaks qasync). Other
parts of the app add their own pages (Sync) or sections (capture shortcuts), and may veto OK
with a sentence (`add_check`). The
key field starts empty and means "keep the current key" while left empty, so the key is
never read back into a widget. Where no keychain works the dialog says so and offers the
opt-in 0600 key file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.widgets.composer import DEFAULT_MODEL, EFFORTS

if TYPE_CHECKING:
    from app.config import Settings


@dataclass(frozen=True)
class SettingsValues:
    """What the user chose; `api_key` is "" when the key field was left untouched."""

    api_key: str
    use_key_file: bool
    base_url: str
    model: str
    effort: str
    detail: str
    api_style: str
    upload_media: bool
    proxy: str
    use_system_trust: bool
    show_thinking_expanded: bool = False
    appearance: str = "system"


class SettingsDialog(QDialog):
    """Signals:
    saved(object): `SettingsValues` after OK with valid input.
    test_requested(object): `SettingsValues` to try (Test connection); answer with
        `show_test_result`.
    """

    saved = Signal(object)
    test_requested = Signal(object)

    def __init__(self, settings: Settings, key_source: str, keychain_problem: str | None,
                 models: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Step Desk settings")
        self.setAccessibleName("Settings")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.key.setPlaceholderText(
            "Leave empty to keep the current key" if key_source != "none" else "sk-…")
        show = QCheckBox("Show")
        show.setAccessibleName("Show API key")
        show.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(show)
        source_text = {"environment": "The key comes from STEP_API_KEY (it wins over this).",
                       "keychain": "The key is stored in the system keychain.",
                       "key file": "The key is stored in the key file (readable only by you).",
                       "none": "No API key yet. Get one at platform.stepfun.ai."}[key_source]
        if keychain_problem:
            source_text += f"\n{keychain_problem} You can keep the key in a private file instead."
        self.key_note = QLabel(source_text)
        self.key_note.setWordWrap(True)
        self.key_file = QCheckBox("Store the key in a private file (mode 0600) instead of the "
                                  "system keychain")
        self.key_file.setChecked(bool(keychain_problem) or key_source == "key file")

        self.base_url = QLineEdit(settings.base_url)
        self.base_url.setAccessibleName("Base URL")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Default model")
        self.model.addItems(list(dict.fromkeys([*models, settings.model, DEFAULT_MODEL])))
        self.model.setCurrentText(settings.model)
        self.effort = QComboBox()
        self.effort.setAccessibleName("Default effort")
        for value, label, tip in EFFORTS:
            self.effort.addItem(label, value)
            self.effort.setItemData(self.effort.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.effort.setCurrentIndex(max(0, self.effort.findData(settings.effort)))
        self.detail = QComboBox()
        self.detail.setAccessibleName("Image detail")
        self.detail.addItem("High (default for step-3.7-flash)", "high")
        self.detail.addItem("Low (fewer tokens)", "low")
        self.detail.setCurrentIndex(max(0, self.detail.findData(settings.detail)))
        self.api_style = QComboBox()
        self.api_style.setAccessibleName("API style")
        self.api_style.addItem("Chat Completions", "chat")
        self.api_style.addItem("Messages (Anthropic-style)", "messages")
        self.api_style.setCurrentIndex(max(0, self.api_style.findData(settings.api_style)))
        self.upload = QComboBox()
        self.upload.setAccessibleName("How media is sent")
        self.upload.addItem("Upload as files (stepfile://, re-used)", True)
        self.upload.addItem("Inline base64 in every request", False)
        self.upload.setCurrentIndex(0 if settings.upload_media else 1)
        self.proxy = QLineEdit(settings.proxy or "")
        self.proxy.setAccessibleName("Proxy")
        self.proxy.setPlaceholderText("http://proxy:3128 (empty: none)")
        self.trust = QCheckBox("Use the operating system's trust store for TLS")
        self.trust.setChecked(settings.use_system_trust)
        self.thinking = QCheckBox("Show the model's thinking expanded when a reply finishes")
        self.thinking.setAccessibleName("Thinking expanded by default")
        self.thinking.setChecked(settings.show_thinking_expanded)
        self.appearance = QComboBox()
        self.appearance.setAccessibleName("Appearance")
        self.appearance.addItem("Follow the system", "system")
        self.appearance.addItem("Light", "light")
        self.appearance.addItem("Dark", "dark")
        self.appearance.setCurrentIndex(max(0, self.appearance.findData(settings.appearance)))

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._on_test)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d32f2f;")
        self.error.hide()

        form = QFormLayout()
        key_label = QLabel("API &key")
        key_label.setBuddy(self.key)
        form.addRow(key_label, key_row)
        form.addRow("", self.key_note)
        form.addRow("", self.key_file)
        form.addRow("&Base URL", self.base_url)
        form.addRow("Default &model", self.model)
        form.addRow("Default &effort", self.effort)
        form.addRow("Image &detail", self.detail)
        form.addRow("API &style", self.api_style)
        form.addRow("&Media", self.upload)
        form.addRow("&Proxy", self.proxy)
        form.addRow("", self.trust)
        form.addRow("", self.thinking)
        form.addRow("Appearance", self.appearance)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        general = QWidget()
        col = QVBoxLayout(general)
        col.addLayout(form)
        col.addLayout(test_row)
        col.addStretch(1)
        self._col = col
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        self.tabs.addTab(general, "&General")
        outer = QVBoxLayout(self)
        outer.addWidget(self.tabs, 1)
        outer.addWidget(self.error)
        outer.addWidget(buttons)
        self._checks: list[Callable[[], str | None]] = []
        self.resize(600, self.sizeHint().height())

    def add_section(self, section: QWidget) -> None:
        """A section owned by another part of the app (capture shortcuts), on the first page."""
        self._col.insertWidget(self._col.count() - 1, section)

    def add_page(self, page: QWidget, title: str) -> None:
        """A page owned by another part of the app (Sync), as a tab."""
        self.tabs.addTab(page, title)

    def add_check(self, check: Callable[[], str | None]) -> None:
        """`check()` returns why OK must not close the dialog (one sentence), or None."""
        self._checks.append(check)

    def values(self) -> SettingsValues:
        return SettingsValues(
            api_key=self.key.text().strip(), use_key_file=self.key_file.isChecked(),
            base_url=self.base_url.text().strip().rstrip("/"),
            model=self.model.currentText().strip() or DEFAULT_MODEL,
            effort=str(self.effort.currentData()), detail=str(self.detail.currentData()),
            api_style=str(self.api_style.currentData()),
            upload_media=bool(self.upload.currentData()), proxy=self.proxy.text().strip(),
            use_system_trust=self.trust.isChecked(),
            show_thinking_expanded=self.thinking.isChecked(),
            appearance=str(self.appearance.currentData()))

    def show_test_result(self, ok: bool, text: str) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText(("✓ " if ok else "✗ ") + text)
        self.test_result.setStyleSheet("" if ok else "color: #d32f2f;")

    def _problem(self) -> str | None:
        parts = urlsplit(self.base_url.text().strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "The base URL must start with https:// (or http://)."
        proxy = self.proxy.text().strip()
        if proxy and urlsplit(proxy).scheme not in ("http", "https", "socks5", "socks5h"):
            return "The proxy must be a URL such as http://proxy:3128."
        return None

    def _on_test(self) -> None:
        problem = self._problem()
        if problem:
            self.show_test_result(False, problem)
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Connecting…")
        self.test_requested.emit(self.values())

    def _on_ok(self) -> None:
        problem = self._problem() or next(
            (problem for check in self._checks if (problem := check())), None)
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        self.saved.emit(self.values())
        self.accept()
