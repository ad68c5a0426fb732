"""The editor for the user's own templates: new ones, and edits of theirs.

Built-ins are never edited here (the picker offers "Duplicate" for them, which makes an
editable copy). The dialog checks the template's own rules as the user saves; whether the
slug is free is the catalogue's to say, so the dialog stays open until the window reports
the save went through (`save_requested` → `saved()` or `show_error()`).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.templates.model import (
    EFFORTS,
    MAX_ICON,
    MAX_NAME,
    MAX_SLUG,
    MEDIA_KINDS,
    OUTPUT_KINDS,
    Output,
    Template,
    TemplateError,
    slugify,
    validate,
)


class TemplateEditor(QDialog):
    """Edit one user template (or a new one).

    Signals:
        save_requested(object, object): (the `Template` to save, the slug it replaces or
            None for a new one); answer with `saved()` or `show_error()`.
    """

    save_requested = Signal(object, object)

    def __init__(self, template: Template | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.replacing = template.slug if template is not None else None
        self.setWindowTitle("Edit template" if template else "New template")
        self.name = QLineEdit(template.name if template else "")
        self.name.setMaxLength(MAX_NAME)
        self.slug = QLineEdit(template.slug if template else "")
        self.slug.setMaxLength(MAX_SLUG)
        self.slug.setPlaceholderText("made from the name")
        self.icon = QLineEdit(template.icon if template else "")
        self.icon.setMaxLength(MAX_ICON)
        self.icon.setPlaceholderText("an emoji, e.g. 🧾")
        self.media = self._combo(MEDIA_KINDS, template.media if template else "image")
        self.effort = self._combo(EFFORTS, template.effort if template else "medium")
        self.output = self._combo(OUTPUT_KINDS,
                                  template.output.kind if template else "markdown")
        self.language = QLineEdit(template.output.language or "" if template else "")
        self.language.setPlaceholderText("for code, e.g. python")
        self.pinned = QCheckBox("Offer it when media is dragged over the window")
        self.pinned.setChecked(bool(template and template.pinned))
        self.prompt = QPlainTextEdit(template.prompt if template else "")
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setMinimumHeight(180)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Problem")
        self.error.hide()
        self.output.currentTextChanged.connect(
            lambda kind: self.language.setEnabled(kind == "code"))
        self.language.setEnabled(self.output.currentText() == "code")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Slug", self.slug)
        form.addRow("Icon", self.icon)
        form.addRow("Media", self.media)
        form.addRow("Effort", self.effort)
        form.addRow("Output", self.output)
        form.addRow("Language", self.language)
        form.addRow("", self.pinned)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        col.addLayout(form)
        col.addWidget(QLabel("Prompt (sent before the user's own words):"))
        col.addWidget(self.prompt, 1)
        col.addWidget(self.error)
        col.addWidget(buttons)
        self.resize(560, 560)

    @staticmethod
    def _combo(values: tuple[str, ...], current: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(values))
        combo.setCurrentText(current)
        return combo

    def template(self) -> Template:
        """The template as filled in (not yet validated)."""
        language = self.language.text().strip() if self.output.currentText() == "code" else ""
        return Template(
            slug=self.slug.text().strip() or slugify(self.name.text()),
            name=self.name.text().strip(), icon=self.icon.text().strip(),
            prompt=self.prompt.toPlainText().strip(), effort=self.effort.currentText(),
            media=self.media.currentText(),  # type: ignore[arg-type]
            output=Output(self.output.currentText(), language or None),  # type: ignore[arg-type]
            pinned=self.pinned.isChecked())

    def show_error(self, message: str) -> None:
        self.error.setText(f"⚠ {message}")
        self.error.show()

    def saved(self) -> None:
        self.accept()

    def _save(self) -> None:
        template = self.template()
        try:
            validate(template, where="This template")
        except TemplateError as exc:
            self.show_error(str(exc))
            return
        self.error.hide()
        self.save_requested.emit(template, self.replacing)
