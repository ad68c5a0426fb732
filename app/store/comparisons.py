"""Effort comparisons: their record, each answer's figures, and the answer a turn keeps.

A comparison is one user turn answered at several reasoning efforts at once; its answers are
ordinary assistant rows in the turn's version group, tagged with `comparison_id` and carrying
their figures (timings, token counts) as JSON. Keeping one sets `kept_answer` on the user row,
which `history.active_messages` then shows (and the context policy re-sends), and remembers
the kept effort as the conversation's. Synchronous; runs on the Store's worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.store.db import Database
from app.store.history import _load_messages, now_ms
from app.store.records import ComparisonRecord, Message

_COLS = "id, conversation_id, user_message_id, efforts, template, kept_message_id, created_at"


def create_comparison(db: Database, user_message_id: int, efforts: Sequence[str],
                      template: str | None) -> int:
    with db.write() as c:
        row = c.execute("SELECT conversation_id, role FROM messages WHERE id = ?",
                        (user_message_id,)).fetchone()
        if row is None or row[1] != "user":
            raise ValueError(f"no user message {user_message_id}")
        cur = c.execute(
            "INSERT INTO comparisons(conversation_id, user_message_id, efforts, template, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            (row[0], user_message_id, ",".join(efforts), template, now_ms()))
        return cur.lastrowid or 0


def set_figures(db: Database, message_id: int, figures: Mapping[str, Any],
                comparison_id: int | None) -> None:
    """Record an answer's figures (and the comparison it belongs to) in one transaction."""
    with db.write() as c:
        c.execute("UPDATE messages SET figures = ?, comparison_id = coalesce(?, comparison_id) "
                  "WHERE id = ?",
                  (json.dumps(dict(figures), separators=(",", ":")), comparison_id, message_id))


def keep_answer(db: Database, message_id: int) -> Message:
    """Make `message_id` its turn's shown answer; returns the kept answer.

    Also marks it kept in its comparison (if any) and makes its effort the conversation's.
    """
    with db.write() as c:
        found = _load_messages(c, "id = ?", (message_id,))
        if not found or found[0].role != "assistant" or found[0].reply_to is None:
            raise ValueError(f"message {message_id} is not an answer to a user turn")
        answer = found[0]
        c.execute("UPDATE messages SET kept_answer = ? WHERE id = ?",
                  (answer.id, answer.reply_to))
        if answer.comparison_id is not None:
            c.execute("UPDATE comparisons SET kept_message_id = ? WHERE id = ?",
                      (answer.id, answer.comparison_id))
        if answer.effort:
            c.execute("UPDATE conversations SET effort = ? WHERE id = ?",
                      (answer.effort, answer.conversation_id))
        return answer


def list_comparisons(db: Database, conversation_id: int) -> list[ComparisonRecord]:
    """The conversation's comparisons, oldest first, each with its answers in asked order."""
    with db.read() as c:
        rows = c.execute(f"SELECT {_COLS} FROM comparisons WHERE conversation_id = ? "
                         "ORDER BY id", (conversation_id,)).fetchall()
        answers: dict[int, list[Message]] = {}
        for m in _load_messages(c, "conversation_id = ? AND comparison_id IS NOT NULL",
                                (conversation_id,)):
            answers.setdefault(m.comparison_id or 0, []).append(m)
    out = []
    for row in rows:
        efforts = tuple(e for e in row[3].split(",") if e)
        mine = answers.get(row[0], [])
        mine.sort(key=lambda m: efforts.index(m.effort) if m.effort in efforts else len(efforts))
        out.append(ComparisonRecord(row[0], row[1], row[2], efforts, row[4], row[5], row[6],
                                    tuple(mine)))
    return out
