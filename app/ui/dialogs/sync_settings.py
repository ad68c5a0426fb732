"""Settings → Sync: where to sync, the passphrase and WebDAV login, how often, and the result.

A form only: it shows and emits; `SyncController` saves, syncs and restores. Secret fields
start empty and mean "keep what is stored" while left empty, so no secret is ever read back
into a widget (the page only says whether one is kept). The target is checked by the options
registry as the user types, so a bad address is one sentence before anything is opened.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.options import SYNC_INTERVAL_MINUTES, SYNC_ON_QUIT, SYNC_TARGET
from app.sync.address import is_url
from app.sync.runner import SyncChoice
from app.sync.secrets import PASSPHRASE, WEBDAV_PASSWORD, WEBDAV_USER

ERROR_STYLE = "color: #d32f2f;"


class SyncPage(QWidget):
    """Signals:
        sync_requested(object): "Sync now" with valid input; the `SyncChoice` to save first.
        restore_requested(object): "Restore from…"; the `SyncChoice` to save first.
    """

    sync_requested = Signal(object)
    restore_requested = Signal(object)

    def __init__(self, target: str | None, interval_minutes: int, on_quit: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Sync settings")
        self.target = QLineEdit(target or "")
        self.target.setAccessibleName(SYNC_TARGET.label)
        self.target.setToolTip(SYNC_TARGET.help)
        self.target.setPlaceholderText("~/Sync/stepdesk or https://cloud.example.com/dav/…")
        self.target.textChanged.connect(self._on_target_edited)
        browse = QPushButton("Folder…")
        browse.setAccessibleName("Choose a sync folder")
        browse.clicked.connect(self._browse)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target, 1)
        target_row.addWidget(browse)

        self.user = _secret_field("WebDAV user", echo=False)
        self.password = _secret_field("WebDAV password")
        self.passphrase = _secret_field("Sync passphrase")
        self.secrets_note = QLabel("Looking up what the keychain keeps…")
        self.secrets_note.setWordWrap(True)
        self.use_file = QCheckBox("Keep them in a private file (mode 0600) instead of the "
                                  "system keychain")
        self.use_file.setAccessibleName("Keep sync secrets in a private file")

        self.interval = QSpinBox()
        self.interval.setAccessibleName(SYNC_INTERVAL_MINUTES.label)
        self.interval.setToolTip(SYNC_INTERVAL_MINUTES.help)
        self.interval.setRange(0, 7 * 24 * 60)
        self.interval.setSpecialValueText("Off (only on request)")
        self.interval.setSuffix(" min")
        self.interval.setValue(interval_minutes)
        self.on_quit = QCheckBox(SYNC_ON_QUIT.help)
        self.on_quit.setAccessibleName(SYNC_ON_QUIT.label)
        self.on_quit.setChecked(on_quit)

        self.sync_button = QPushButton("Sync now")
        self.sync_button.clicked.connect(self._on_sync)
        self.restore_button = QPushButton("Restore from…")
        self.restore_button.setAccessibleName("Restore from a snapshot")
        self.restore_button.clicked.connect(self._on_restore)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        self._shown = "No sync yet." if target else "Sync is off: choose a target."
        self.result = QLabel(self._shown)
        self.result.setAccessibleName("Last sync result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label = QLabel()
        self.problem_label.setAccessibleName("Sync settings problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.hide()

        intro = QLabel("Your history on several devices, encrypted end to end, through a "
                       "folder a sync tool carries or a WebDAV server. Use the same "
                       "passphrase on every device.")
        intro.setWordWrap(True)
        form = QFormLayout()
        target_label = QLabel("Sync &target")
        target_label.setBuddy(self.target)
        form.addRow(target_label, target_row)
        form.addRow("WebDAV &user", self.user)
        form.addRow("WebDAV pass&word", self.password)
        form.addRow("Pass&phrase", self.passphrase)
        form.addRow("", self.secrets_note)
        form.addRow("", self.use_file)
        form.addRow("Sync &every", self.interval)
        form.addRow("", self.on_quit)
        col = QVBoxLayout(self)
        col.addWidget(intro)
        col.addLayout(form)
        col.addLayout(buttons)
        col.addWidget(self.result)
        col.addWidget(self.problem_label)
        col.addStretch(1)
        self._on_target_edited(self.target.text())

    # --- what the controller calls -------------------------------------------------------
    def choice(self) -> SyncChoice:
        return SyncChoice(
            target=self.target.text().strip() or None,
            interval_minutes=self.interval.value(), on_quit=self.on_quit.isChecked(),
            passphrase=self.passphrase.text(), webdav_user=self.user.text().strip(),
            webdav_password=self.password.text(), use_file=self.use_file.isChecked())

    def problem(self) -> str | None:
        """Why the page's values cannot be saved (one sentence), or None."""
        text = self.target.text().strip()
        if not text:
            return None
        problem = SYNC_TARGET.problem(text)
        if problem is None and not is_url(text) and not os.path.isabs(os.path.expanduser(text)):
            problem = (f"{SYNC_TARGET.label} must be a full folder path, such as "
                       "~/Sync/stepdesk (the window has no working folder of its own).")
        return problem

    def set_secrets(self, known: set[str], keychain_problem: str | None, *,
                    in_file: bool = False) -> None:
        """Say which secrets are kept (never their values), and keep using the file when
        they are there."""
        for field, name in ((self.passphrase, PASSPHRASE), (self.user, WEBDAV_USER),
                            (self.password, WEBDAV_PASSWORD)):
            field.setPlaceholderText("Kept; leave empty to keep it" if name in known
                                     else "Not set")
        words = ["The passphrase is kept." if PASSPHRASE in known
                 else "No passphrase yet: choose one, and use it on every device."]
        if keychain_problem:
            words.append(f"{keychain_problem} Keep the secrets in a private file instead.")
        self.use_file.setChecked(bool(keychain_problem) or in_file)
        self.secrets_note.setText(" ".join(words))

    def show_result(self, text: str, failing: bool) -> None:
        """The last sync's outcome in words (the status bar's sentence)."""
        self._shown = ("⚠ " if failing else "") + (text or "No sync yet.")
        self.set_busy(False)
        self.result.setStyleSheet(ERROR_STYLE if failing else "")

    def show_problem(self, text: str | None) -> None:
        """Why the values were refused (ends a "Sync now"), or None to clear it."""
        if text:
            self.set_busy(False)
        self.problem_label.setText(text or "")
        self.problem_label.setVisible(bool(text))

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.sync_button.setEnabled(not busy)
        self.restore_button.setEnabled(not busy)
        self.result.setText(text if busy else self._shown)
        if busy:
            self.result.setStyleSheet("")

    def saved(self) -> None:
        """The secrets were kept: clear the fields, so none stays in a widget."""
        for field in (self.passphrase, self.user, self.password):
            field.clear()

    # --- the user's edits ----------------------------------------------------------------
    def _on_target_edited(self, text: str) -> None:
        webdav = is_url(text.strip())
        for field in (self.user, self.password):
            field.setEnabled(webdav)
        self.show_problem(self.problem())

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Sync folder", self.target.text().strip())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.target.setText)
        dialog.open()

    def _checked(self) -> SyncChoice | None:
        problem = self.problem()
        if problem is None and not self.target.text().strip():
            problem = "Choose a sync folder or a WebDAV address first."
        self.show_problem(problem)
        return None if problem else self.choice()

    def _on_sync(self) -> None:
        choice = self._checked()
        if choice is not None:
            self.set_busy(True, "Syncing…")
            self.sync_requested.emit(choice)

    def _on_restore(self) -> None:
        choice = self._checked()
        if choice is not None:
            self.restore_requested.emit(choice)


def _secret_field(name: str, *, echo: bool = True) -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(name)
    if echo:
        field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(1024)
    return field
