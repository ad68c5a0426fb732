"""What a sync target may be: a folder path, or a WebDAV `https://` address (plain `http://`
only to this machine). Pure text rules, no I/O and no httpx, so the options registry, the CLI
and the window's form check an address the same way before anything is opened.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from app.sync.errors import BadTarget

MAX_LENGTH = 2048
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def url_problem(url: str) -> str | None:
    """Why `url` is no usable WebDAV address (a phrase after "The WebDAV address"), or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "is not a valid address"
    if parts.scheme not in ("http", "https") or not host:
        return "must start with https://"
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7f for ch in url):
        return "contains spaces or control characters"
    if parts.username or parts.password or "@" in parts.netloc:
        return ("must not contain the user name or password: keep them in the keychain "
                "(Settings → Sync) or in STEPDESK_WEBDAV_USER / STEPDESK_WEBDAV_PASSWORD")
    if parts.scheme == "http" and not is_loopback(host):
        return ("may use plain http:// only to this machine (127.0.0.1); use https:// for a "
                "WebDAV server")
    return None


def check_url(url: str) -> None:
    """HTTPS anywhere; plain HTTP only to this machine (credentials would travel in clear)."""
    problem = url_problem(url)
    if problem:
        raise BadTarget(f"The WebDAV address {problem}.")


def target_problem(text: str) -> str | None:
    """Why `text` is neither a folder path nor a usable WebDAV address (a phrase), or None."""
    if len(text) > MAX_LENGTH:
        return f"is too long (more than {MAX_LENGTH} characters)"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in text):
        return "contains control characters"
    if not text.strip():
        return "must not be empty"
    if is_url(text):
        problem = url_problem(text)
        return f"(a WebDAV address) {problem}" if problem else None
    if _SCHEME.match(text):
        return "must be a folder or a WebDAV https:// address"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
