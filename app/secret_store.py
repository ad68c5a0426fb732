"""Secrets by name: the OS keychain first, an opt-in 0600 file in the config folder second.

The API key uses it today (`name="api_key"`); the sync passphrase and WebDAV credentials reuse
it with their own names. The keychain is asked in a daemon thread with a timeout, because a
D-Bus session without a secret service can hang for tens of seconds. Files are written to a
0600 temp file beside the target and renamed, so no instant exists where the secret is on disk
with a wider mode or half written. No secret is ever put in SQLite.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from app.fsmodes import private_dir, write_private_atomic

KEYRING_SERVICE = "stepdesk"
KEYRING_TIMEOUT_S = 2.0
_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


class SecretStoreError(Exception):
    """The secret could not be kept where asked; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Found:
    value: str | None
    source: str  # "keychain" | "file" | "none"
    problem: str | None = None  # why the keychain could not be used, for the UI


class SecretStore:
    """Get, set and delete named secrets; blocking for at most ~`timeout` seconds each."""

    def __init__(self, config_dir: Path, *, timeout: float = KEYRING_TIMEOUT_S,
                 service: str = KEYRING_SERVICE) -> None:
        self._dir = config_dir
        self._timeout = timeout
        self._service = service

    def file_path(self, name: str) -> Path:
        _check(name)
        return self._dir / name

    def get(self, name: str) -> Found:
        """The keychain's value, else the file's, else none (with the keychain's problem)."""
        value, problem = self._keyring("get", name)
        if value:
            return Found(value, "keychain")
        value = self.read_file(name)
        if value:
            return Found(value, "file", problem)
        return Found(None, "none", problem)

    def read_file(self, name: str) -> str | None:
        try:
            with self.file_path(name).open("rb") as handle:
                data = handle.read(64 * 1024)  # a secret is short; a FIFO or /dev/zero is not
            text = data.decode("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text or None

    def set(self, name: str, value: str, *, use_keychain: bool = True) -> str:
        """Keep `value` in the keychain or (opt-in) the 0600 file. Returns where it went."""
        if use_keychain:
            stored, _ = self._keyring("set", name, value)
            if stored == value:
                return "keychain"
            raise SecretStoreError("The system keychain could not store it; "
                                   "use the file option instead.")
        private_dir(self._dir)
        write_private_atomic(self.file_path(name), (value + "\n").encode("utf-8"),
                             overwrite=True)
        return "file"

    def delete(self, name: str) -> None:
        """Forget `name` in both places (missing is fine)."""
        self._keyring("delete", name)
        with contextlib.suppress(FileNotFoundError):
            self.file_path(name).unlink()

    def _keyring(self, action: str, name: str, value: str | None = None
                 ) -> tuple[str | None, str | None]:
        """(value read back, problem) from the keychain, asked in a daemon thread."""
        _check(name)
        result: dict[str, object] = {}

        def work() -> None:
            try:
                import keyring
                from keyring.backends import fail

                if isinstance(keyring.get_keyring(), fail.Keyring):
                    result["problem"] = "No system keychain is available on this machine."
                    return
                if action == "set":
                    keyring.set_password(self._service, name, value or "")
                elif action == "delete":
                    with contextlib.suppress(keyring.errors.PasswordDeleteError):
                        keyring.delete_password(self._service, name)
                    return
                # Read back after a set too: some backends (the null one, a locked store)
                # accept writes and keep nothing.
                result["value"] = keyring.get_password(self._service, name)
            except Exception as exc:  # keyring backends raise a zoo of their own errors
                result["problem"] = f"The system keychain failed: {type(exc).__name__}."

        worker = threading.Thread(target=work, name=f"keyring-{action}", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if worker.is_alive():
            return None, f"The system keychain did not answer within {self._timeout:g} s."
        found = result.get("value")
        problem = result.get("problem")
        return (str(found) if found else None), (str(problem) if problem else None)


def _check(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a secret name: {name!r}")
