"""Sync failures: each one sentence for the user, with the CLI exit code it maps to."""

from __future__ import annotations

BAD_INPUT, FAILURE, AUTH = 2, 3, 4


class SyncError(Exception):
    """A sync, backup or restore failed; `str()` is the sentence to show."""

    code = FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadTarget(SyncError):
    """The target is not a usable folder or URL (bad input)."""

    code = BAD_INPUT


class TargetUnreachable(SyncError):
    """The network or the server failed; nothing local changed, the next sync resumes."""


class CredentialsRejected(SyncError):
    code = AUTH


class WrongPassphrase(SyncError):
    code = AUTH


class NoPassphrase(SyncError):
    code = AUTH


class TamperedFile(SyncError):
    """Authenticated decryption refused a file (changed, truncated or another passphrase's)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} was changed or cut short on the storage and was skipped.")
        self.name = name


class NewerSnapshot(SyncError):
    """A snapshot written by a newer Step Desk: its schema is unknown here."""
