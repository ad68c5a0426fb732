"""The one redaction function: every text that leaves the process passes through `redact`.

Call sites (the log handler, error texts stored on messages or printed, diagnostics, the HTTP
client's error messages) cannot foresee every way a secret sneaks into a string: the key as
typed, stripped of the whitespace the user pasted with it, `repr()`- or JSON-escaped when it
holds control characters, percent-encoded inside a URL, or quoted back by a server that echoes
the `Authorization` header. So the known secrets are matched in all those forms, and
well-known credential shapes (bearer tokens, `x-api-key`, `user:password@` in URLs) are
removed even when nobody told us the secret.

`SecretStore` (below it in `app.secrets`) finds and keeps secrets; this module only forgets
them in text. Leaf module: imports nothing from the app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

MASK = "[redacted]"
MIN_PIECE = 6
"""Pieces of a secret shorter than this are not redacted on their own (too many false hits)."""

_HEADER_SECRETS = re.compile(
    r"(?i)(\bbearer\s+|\bbasic\s+|\b(?:x-api-key|api[-_]?key|authorization|proxy-authorization)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)"
    r"(?!\[redacted\])[^\s\"',;}{\[\]]{4,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@\"'<>]*@")


def secret_forms(secret: str) -> set[str]:
    """Every spelling of `secret` that a log line or an error text might contain."""
    forms: set[str] = set()
    if not secret:
        return forms
    for variant in {secret, secret.strip()}:
        if not variant:
            continue
        forms.add(variant)
        forms.add(repr(variant)[1:-1])
        forms.add(json.dumps(variant)[1:-1])
        forms.add(json.dumps(variant, ensure_ascii=False)[1:-1])
        forms.add(quote(variant, safe=""))
        forms.add(repr(variant.encode("utf-8", "surrogatepass"))[2:-1])
    # A key with whitespace or control characters inside reaches text split at them too.
    for piece in re.split(r"[\s\x00-\x1f\x7f]+", secret):
        if len(piece) >= MIN_PIECE:
            forms.add(piece)
    return {form for form in forms if len(form) >= min(MIN_PIECE, len(secret.strip()) or 1)}


def url_secrets(url: str | None) -> set[str]:
    """The user name and password inside a URL (`http://user:pass@proxy:3128`), if any."""
    if not url:
        return set()
    try:
        parts = urlsplit(url)
        found = {parts.password or "", parts.username or ""}
    except ValueError:
        return set()
    return {s for s in found if s}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every form of every secret, bearer token and URL credential masked."""
    if not text:
        return text
    forms: set[str] = set()
    for secret in secrets:
        forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):  # longest first: no half-masked key
        if form in text:
            text = text.replace(form, MASK)
    text = _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)
    return _HEADER_SECRETS.sub(rf"\1{MASK}", text)
