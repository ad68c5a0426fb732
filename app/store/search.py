"""Full-text search over message text: FTS5 when present, LIKE when not.

Query language: whitespace-separated terms (or "double-quoted phrases"), all of which must
match. Every term is passed to FTS5 as a quoted phrase, so operators and punctuation the user
types (`AND`, `NEAR(`, `*`, `"`, `c++`, `foo-bar`) are text, never syntax. Routing per term:

- words (letters/digits, no CJK) -> `messages_fts` (unicode61: case- and accent-insensitive);
  a term with symbols such as `c++` also gets a literal LIKE filter, because unicode61 drops
  the `++` and "c" alone would match far too much;
- CJK terms of >= 3 characters -> `messages_tri` (trigram: substring match);
- shorter CJK terms (`你好`) and terms with no letters at all (emoji) -> LIKE.

Hits are ordered newest first (`ORDER BY rowid DESC LIMIT n`), which FTS5 answers by walking
the doclist backwards and stopping after n rows. Ranking by bm25 would have to score every
matching row first: for a common word in 100k messages that alone blows the 50 ms budget, and
for chat history recency is the more useful order anyway.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from app.store.records import SearchHit
from app.store.schema import CJK_RE, has_cjk

DEFAULT_MARKS = ("«", "»")
_TERM_RE = re.compile(r'"([^"]+)"|(\S+)')
_SYMBOLS_OK = set("-_'.,:;!?/")  # punctuation unicode61 treats as a plain word break
_SNIPPET_TOKENS = 16
_CONTEXT_BEFORE = 40
_CONTEXT_AFTER = 100


def index_message(c: sqlite3.Connection, message_id: int, content: str) -> None:
    """(Re)write the full-text rows of one message; called when it leaves `streaming`."""
    c.execute("DELETE FROM messages_fts WHERE rowid = ?", (message_id,))
    c.execute("DELETE FROM messages_tri WHERE rowid = ?", (message_id,))
    c.execute("INSERT INTO messages_fts(rowid, content) VALUES (?, ?)", (message_id, content))
    if has_cjk(content):
        c.execute("INSERT INTO messages_tri(rowid, content) VALUES (?, ?)", (message_id, content))


@dataclass
class Plan:
    """Each user term, routed to the index that can answer it."""

    words: list[str] = field(default_factory=list)
    trigrams: list[str] = field(default_factory=list)
    likes: list[str] = field(default_factory=list)

    @property
    def all_terms(self) -> list[str]:
        return self.words + self.trigrams + self.likes


def plan_query(text: str) -> Plan:
    plan = Plan()
    for match in _TERM_RE.finditer(text):
        term = (match.group(1) or match.group(2)).strip()
        if not term:
            continue
        if CJK_RE.search(term):
            (plan.trigrams if len(term) >= 3 else plan.likes).append(term)
        elif any(ch.isalnum() for ch in term):
            plan.words.append(term)
            if any(not ch.isalnum() and not ch.isspace() and ch not in _SYMBOLS_OK for ch in term):
                plan.likes.append(term)
        else:
            plan.likes.append(term)
    return plan


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


# Always pair these patterns with `ESCAPE '\'`: besides making % and _ literal, it keeps
# FTS5's trigram LIKE optimisation away, which in SQLite 3.40 returns NO rows for patterns
# with fewer than 3 characters (test_store_search checks `你好` on the trigram table).
def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    c: sqlite3.Connection, text: str, *, limit: int, fts: bool, marks: tuple[str, str]
) -> list[SearchHit]:
    """Newest `limit` messages matching every term of `text`, with highlighted snippets."""
    plan = plan_query(text)
    if not plan.all_terms or limit <= 0:
        return []
    if fts:
        found = _search_fts(c, plan, limit, marks)
    else:
        found = _search_like(c, "messages", "id", plan.all_terms, "status != 'streaming'", limit)
    if not found:
        return []
    terms = plan.all_terms
    anchors = plan.words + plan.trigrams or plan.likes  # indexed terms are the rarer ones
    snippets = {
        rowid: (snippet if snippet is not None else make_snippet(content, terms, marks, anchors))
        for rowid, content, snippet in found
    }
    marks_sql = ",".join("?" * len(snippets))
    meta = {
        r[0]: r
        for r in c.execute(
            "SELECT m.id, m.conversation_id, c.title, m.role, m.created_at FROM messages m "
            f"JOIN conversations c ON c.id = m.conversation_id WHERE m.id IN ({marks_sql})",
            list(snippets),
        )
    }
    return [
        SearchHit(meta[i][1], i, meta[i][2], meta[i][3], _one_line(snippets[i]), meta[i][4])
        for i, _, _ in found
        if i in meta
    ]


Found = list[tuple[int, str | None, str | None]]  # rowid, content (if needed), snippet


def _search_fts(c: sqlite3.Connection, plan: Plan, limit: int, marks: tuple[str, str]) -> Found:
    if not plan.words and not plan.trigrams:
        # Only LIKE terms. When each is CJK, only rows in the (smaller) trigram table can match.
        if all(CJK_RE.search(t) for t in plan.likes):
            return _search_like(c, "messages_tri", "rowid", plan.likes, "1", limit)
        return _search_like(c, "messages", "id", plan.likes, "status != 'streaming'", limit)
    table, driver_terms = (
        ("messages_fts", plan.words) if plan.words else ("messages_tri", plan.trigrams)
    )
    where = [f"{table} MATCH ?"]
    args: list[object] = [" AND ".join(_phrase(t) for t in driver_terms)]
    if table == "messages_fts" and plan.trigrams:
        where.append("rowid IN (SELECT rowid FROM messages_tri WHERE messages_tri MATCH ?)")
        args.append(" AND ".join(_phrase(t) for t in plan.trigrams))
    for term in plan.likes:
        where.append("content LIKE ? ESCAPE '\\'")
        args.append(_like(term))
    where_sql = " AND ".join(where)
    if plan.likes:
        # FTS5's snippet() cannot mark the LIKE terms (nor the `++` of `c++`): build it here.
        sql = f"SELECT rowid, content, NULL FROM {table} WHERE {where_sql} ORDER BY rowid DESC"
        return c.execute(f"{sql} LIMIT ?", [*args, limit]).fetchall()
    tokens = _SNIPPET_TOKENS if table == "messages_fts" else _SNIPPET_TOKENS * 3
    sql = (
        f"SELECT rowid, NULL, snippet({table}, 0, ?, ?, '…', {tokens}) FROM {table} "
        f"WHERE {where_sql} ORDER BY rowid DESC LIMIT ?"
    )
    return c.execute(sql, [marks[0], marks[1], *args, limit]).fetchall()


def _search_like(
    c: sqlite3.Connection, table: str, key: str, terms: list[str], base: str, limit: int
) -> Found:
    where = " AND ".join([base] + ["content LIKE ? ESCAPE '\\'"] * len(terms))
    sql = f"SELECT {key}, content, NULL FROM {table} WHERE {where} ORDER BY {key} DESC LIMIT ?"
    return c.execute(sql, [*(_like(t) for t in terms), limit]).fetchall()


def _alternation(terms: list[str]) -> re.Pattern[str]:
    return re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE
    )


def make_snippet(
    content: str | None, terms: list[str], marks: tuple[str, str], anchors: list[str]
) -> str:
    """An excerpt around the first `anchors` match with every term occurrence marked."""
    content = content or ""
    pattern = _alternation(terms)
    first = _alternation(anchors).search(content) or pattern.search(content)
    if first is None:
        start, end = 0, min(len(content), _CONTEXT_BEFORE + _CONTEXT_AFTER)
    else:
        start = max(0, first.start() - _CONTEXT_BEFORE)
        end = min(len(content), first.end() + _CONTEXT_AFTER)
    # Never cut a match in half at the window edges.
    for m in pattern.finditer(content, max(0, start - 64), min(len(content), end + 64)):
        if m.start() < start < m.end():
            start = m.start()
        if m.start() < end < m.end():
            end = m.end()
    window = pattern.sub(lambda m: f"{marks[0]}{m.group(0)}{marks[1]}", content[start:end])
    return ("…" if start > 0 else "") + window + ("…" if end < len(content) else "")


def _one_line(snippet: str | None) -> str:
    return " ".join((snippet or "").split())
