"""The key in every form never reaches SQLite, logs, exports, stdout/stderr or error text.

Table-driven over the forms of a secret (as given, with whitespace or control characters
inside, non-ASCII, very long, credentials in the base URL or the proxy URL) and the places it
could leak to; the stand-in's `echo_auth` fault quotes the Authorization header back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.api.errors import from_response
from app.redact import MASK, redact, secret_forms
from tests.clihelp import Result, ask, stepdesk
from tests.conftest import TEST_API_KEY

# (label, key as the user gave it): every one must be refused before any request, exit 4.
UNSENDABLE_KEYS = [
    ("tab inside", "sk-abcdef\t0123456789abcdef"),
    ("newline inside", "sk-abcdef\n0123456789abcdef"),
    ("CRLF header injection", "sk-abcdef0123456789\r\nX-Evil: 1"),
    ("NUL inside", "sk-abcdef\x000123456789abcdef"),
    ("ESC inside", "sk-abcdef\x1b[31m0123456789abcdef"),
    ("space inside", "sk-abcdef 0123456789abcdef"),
    ("non-ASCII", "sk-ключ-0123456789abcdef"),
    ("zero-width space", "sk-abcdef\u200b0123456789abcdef"),
    ("very long", "sk-" + "a1b2c3d4" * 2000),
]


def _everything_written(data_dir: Path, result: Result) -> bytes:
    """stdout, stderr and every file under the data dir (database, WAL, logs, blobs)."""
    blob = (result.out + "\n" + result.err).encode("utf-8", "surrogateescape")
    for handler in logging.getLogger("app").handlers:
        handler.flush()
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            blob += b"\n" + path.read_bytes()
    return blob


def _assert_absent(haystack: bytes, secret: str) -> None:
    for form in secret_forms(secret):
        assert form.encode("utf-8", "surrogateescape") not in haystack, repr(form)[:80]


@pytest.mark.parametrize(("label", "key"), UNSENDABLE_KEYS, ids=[k[0] for k in UNSENDABLE_KEYS])
def test_unsendable_key_refused_before_any_request(standin, data_dir: Path, label: str,
                                                    key: str) -> None:
    result = ask(standin.base_url, data_dir, "hello", key=key)
    assert result.code == 4, (label, result.err)
    assert result.err.startswith("stepdesk: The API key ") and result.err.count("\n") == 1
    assert "STEP_API_KEY" in result.err  # says where the bad key came from
    assert standin.requests == []  # refused before any request
    _assert_absent(_everything_written(data_dir, result), key)


def test_key_with_surrounding_whitespace_is_used(standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "hello", key=f"  {TEST_API_KEY}\n")
    assert result.code == 0, result.err


@pytest.mark.parametrize("status", [400, 401, 500])
def test_server_echoing_the_authorization_header_is_redacted(standin, data_dir: Path,
                                                             status: int) -> None:
    standin.fault("echo_auth", status=status, times=None)
    result = ask(standin.base_url, data_dir, "hello")
    assert result.code in (3, 4), result.err
    assert MASK in result.err or status != 400  # 401 and 5xx keep our own sentence only
    history = stepdesk(standin.base_url, data_dir, "history", "show", "1")
    export = stepdesk(standin.base_url, data_dir, "history", "export", "1", "--format", "json")
    for shown in (result, history, export):
        _assert_absent(_everything_written(data_dir, shown), TEST_API_KEY)


@pytest.mark.parametrize("url", [
    "http://alice:s3cr3t-passw0rd@127.0.0.1:9/v1",
    "https://s3cr3t-passw0rd@api.stepfun.ai/v1",
    "https://alice:s3cr3t-passw0rd@[::1/v1",  # also unparseable
])
def test_base_url_with_credentials_is_refused(data_dir: Path, url: str) -> None:
    result = stepdesk(url, data_dir, "history", "list")
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1
    _assert_absent(_everything_written(data_dir, result), "s3cr3t-passw0rd")


def test_proxy_credentials_never_shown(data_dir: Path) -> None:
    # A non-loopback base URL goes through the proxy; nothing listens on port 9.
    result = ask("https://api.example.invalid/v1", data_dir, "hello",
                 HTTPS_PROXY="http://alice:pr0xy-s3cret@127.0.0.1:9")
    assert result.code == 3, result.err
    assert result.err.count("\n") == 1
    _assert_absent(_everything_written(data_dir, result), "pr0xy-s3cret")


REDACT_CASES = [
    # (text, secrets, must not contain)
    (f"oops {TEST_API_KEY}", [TEST_API_KEY], TEST_API_KEY),
    (repr("sk-abc\tdefghijklmnop"), ["sk-abc\tdefghijklmnop"], "defghijklmnop"),
    ('{"key": "sk-abc\\u0001defghijkl"}', ["sk-abc\x01defghijkl"], "defghijkl"),
    ("Authorization: Bearer sk-never-told-us-1234", [], "sk-never-told-us-1234"),
    ('{"authorization": "Bearer abcdefgh12345"}', [], "abcdefgh12345"),
    ("x-api-key: zzzzyyyyxxxx", [], "zzzzyyyyxxxx"),
    ("proxy http://bob:hunter22@proxy.local:3128 refused", [], "hunter22"),
    ("key=sk-%D0%BA%D0%BB%D1%8E%D1%87xx", ["sk-ключxx"], "%D0%BA"),
    ("b'sk-\\xd0\\xba\\xd0\\xbbabcdef'", ["sk-клabcdef"], "xd0"),
    (f"two {TEST_API_KEY} {TEST_API_KEY.upper()}", [TEST_API_KEY], TEST_API_KEY),
    ("a" * 3 + "sk-" + "x" * 5000, ["sk-" + "x" * 5000], "x" * 100),
]


@pytest.mark.parametrize(("text", "secrets", "gone"), REDACT_CASES)
def test_redact_every_form(text: str, secrets: list[str], gone: str) -> None:
    assert gone not in redact(text, secrets)


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "The API key was rejected; check it in Settings. See https://platform.stepfun.ai/."
    assert redact(text, [TEST_API_KEY]) == text
    assert redact("Bearer [redacted]", []) == "Bearer [redacted]"  # idempotent


def test_error_from_server_redacts_secrets_it_quotes() -> None:
    body = b'{"error": {"message": "bad header Authorization: Bearer sk-live-xyz12345678"}}'
    err = from_response(400, body, trace_id=None, path="/chat/completions",
                        secrets=["sk-live-xyz12345678"])
    assert "sk-live-xyz12345678" not in str(err)


def test_log_handler_redacts_every_form(tmp_path: Path) -> None:
    from app.logsetup import setup_logging

    key = "sk-live-\tabcdefghijklmnop"
    setup_logging(tmp_path, [key])
    log = logging.getLogger("app.test")
    log.warning("repr %r, raw %s, pieces %s", key, key, key.split("\t")[1])
    try:
        raise RuntimeError(f"failure quoting {key!r}")
    except RuntimeError:
        log.exception("traceback")
    for handler in list(logging.getLogger("app").handlers):
        handler.flush()
        logging.getLogger("app").removeHandler(handler)
        handler.close()
    text = (tmp_path / "stepdesk.log").read_bytes()
    _assert_absent(text, key)
    assert text.count(MASK.encode()) >= 4
