"""Compare efforts in the window: the Compare button, the context action and the shortcut
start a comparison; its view takes the conversation's place until "Back to the conversation".
A line of the efforts panel shows its finished comparison in the view again.

Wiring only (MainWindow builds one in `use()`): the comparison controller owns the run, the
conversations controller what the composer holds and which conversation is shown. The
comparison view is built when the services are open (after the first paint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStackedWidget

from app.ui.controllers.compare import EFFORT_SETS, connect_view
from app.ui.controllers.turns import NEW

if TYPE_CHECKING:
    from app.ui.controllers.session import Controllers
    from app.ui.widgets.compare_view import ComparisonView
    from app.ui.widgets.composer import Composer
    from app.ui.widgets.conversation_view import ConversationView
    from app.ui.widgets.efforts_panel import EffortsPanel


class CompareWiring(QObject):
    """Connects the comparison controller to the window's widgets (see module docstring)."""

    def __init__(self, controllers: Controllers, center: QStackedWidget, composer: Composer,
                 conversation: ConversationView, panel: EffortsPanel) -> None:
        super().__init__(center)
        assert controllers.compare is not None
        self._c = controllers
        self._compare = controllers.compare
        self._center, self._composer = center, composer
        self._conversation, self._panel = conversation, panel
        self.view: ComparisonView | None = None
        # The conversation the comparison in the view belongs to (NEW until a new one's
        # turn is stored): showing another conversation takes the view away.
        self._of = NEW
        composer.set_compare_sets([(label, list(efforts)) for label, efforts in EFFORT_SETS])
        composer.compare_requested.connect(self.compare_composed)
        conversation.compare_requested.connect(self.compare_turn)
        panel.comparison_activated.connect(self.reopen)
        c = self._compare
        c.opened.connect(self._opened)
        c.started.connect(self._started)
        c.finished.connect(self._finished)
        c.kept.connect(self._kept)
        c.failed.connect(controllers.conversations.error)
        # The composer's media leave the tray once the comparison's turn is stored.
        c.upload_progress.connect(controllers.attachments.upload_progress)
        c.started.connect(controllers.attachments.sent)
        c.finished.connect(controllers.attachments.sent)
        connect_view(c, self._ensure_view(), panel)

    # -- commands ----------------------------------------------------------------------------

    def compare_composed(self, efforts: list[str] | None = None) -> None:
        """Compare what the composer holds (Compare button, its menu, Ctrl+Shift+Enter)."""
        if self._compare.is_busy():
            self._c.conversations.note.emit("A comparison is running; stop it first.")
            self.show_view()
            return
        template = self._composer.template
        taken = self._c.conversations.take_for_compare(self._composer.text(), template)
        if taken is None:
            return
        conversation_id, text, media, title = taken
        self._of = NEW if conversation_id is None else conversation_id
        started = self._compare.compare_new(
            conversation_id, text, media, efforts=efforts or list(EFFORT_SETS[0][1]),
            model=self._composer.current_model(), title=title,
            template=template.slug if template is not None else None,
            effort=self._composer.current_effort())
        if started:
            self._composer.set_text("")
            if template is not None:
                self._composer.set_template(None)

    def compare_turn(self, user_message_id: int) -> None:
        """The "Compare" action on a sent turn: answer it again at low, medium and high."""
        if self._compare.is_busy():
            self._c.conversations.note.emit("A comparison is running; stop it first.")
            self.show_view()
            return
        if not self._c.conversations.library.has_key:
            self._c.conversations.key_needed.emit()
            return
        message = self._c.conversations.shown_messages.get(user_message_id)
        if message is not None:
            self._of = message.conversation_id
        prompt = message.content if message is not None else ""
        self._compare.compare_turn(user_message_id, prompt,
                                   model=self._composer.current_model())

    def reopen(self, comparison_id: int) -> None:
        """A line of the efforts panel: that comparison of the shown conversation again. One
        that runs is not disturbed: it is shown instead, with a word why."""
        if self._compare.is_busy():
            self._c.conversations.note.emit("A comparison is running; stop it first.")
            self.show_view()
            return
        current = self._c.conversations.current
        if current is None:
            return
        self._of = current
        self._compare.reopen(current, comparison_id, self._c.conversations.shown_messages)

    def show_view(self) -> None:
        self._center.setCurrentWidget(self._ensure_view())

    def show_conversation(self) -> None:
        self._center.setCurrentWidget(self._conversation)

    def conversation_shown(self, key: int) -> None:
        """Another conversation is shown: its comparisons in the panel, and its messages
        rather than the comparison of another conversation (which "Use this answer" would
        change under this one's title)."""
        if key != self._of:
            self._compare.cancel_reopen()
            if self.view is not None and self._center.currentWidget() is self.view:
                self.show_conversation()
        if key == NEW:
            self._panel.set_rows([])
        else:
            self._compare.load_comparisons(key)

    # -- controller → window -----------------------------------------------------------------

    def _ensure_view(self) -> ComparisonView:
        if self.view is None:
            from app.ui.render.markdown import MarkdownRenderer
            from app.ui.render.markdown_view import theme_from_palette
            from app.ui.widgets.compare_view import ComparisonView

            self.view = ComparisonView(MarkdownRenderer(theme_from_palette(
                self._center.palette())))
            self.view.close_requested.connect(self.show_conversation)
            self._center.addWidget(self.view)
            self.view.prepare(EFFORT_SETS[0][1])  # the first Compare click only empties them
        return self.view

    def _opened(self, _efforts: list[str], _prompt: str) -> None:
        self.show_view()

    def _started(self, conversation_id: int, _user_id: int) -> None:
        self._of = conversation_id
        self._reload(conversation_id)

    def _finished(self, conversation_id: int) -> None:
        self._reload(conversation_id)
        self._compare.load_comparisons(conversation_id)

    def _kept(self, conversation_id: int, _message_id: int, _effort: str,
              _template: str) -> None:
        self._reload(conversation_id)

    def _reload(self, conversation_id: int) -> None:
        """Show the conversation again from the store (new turn, new versions, kept one)."""
        conv = self._c.conversations
        if conv.current in (None, conversation_id):
            self._c.tasks.spawn(conv.show(conversation_id), "compare-reload")
