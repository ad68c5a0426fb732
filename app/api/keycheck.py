"""Is this string something httpx can put in an `Authorization` header — and an API key at all?

Checked before any request is built, so a key pasted with a line break, a zero-width space or a
non-ASCII letter inside is refused with a sentence (exit 4 on the command line) instead of
failing deep in httpx/h11 with an exception whose text may quote the key. Kept free of httpx so
`app.config` can use it when the key is saved.
"""

from __future__ import annotations

MAX_KEY_CHARS = 4096
"""Far longer than any real key; servers refuse headers of more than a few kilobytes."""


def key_problem(key: str) -> str | None:
    """One sentence saying why `key` cannot be used (never quoting it), or None if it can."""
    if not key:
        return "The API key is empty."
    if len(key) > MAX_KEY_CHARS:
        return (f"The API key is {len(key):,} characters long, far longer than any API key; "
                "paste it again.")
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in key):
        return ("The API key contains spaces, control characters or non-ASCII letters, which "
                "an API key never has; paste it again.")
    return None
