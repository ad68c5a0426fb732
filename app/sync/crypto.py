"""Keys from the passphrase, and sealing files so the storage learns nothing.

Argon2id (memory-hard, RFC 9106) turns the passphrase and the repository's random salt into a
master key; HKDF splits it into a data key (AES-256-GCM) and a naming key (HMAC-SHA256).
Every file is `MAGIC | nonce(12) | ciphertext+tag`, with its logical name as associated data,
so a file swapped for another, changed or cut short fails authentication and is refused.
Blob names are HMAC(naming key, sha256 of the content): the same picture gets the same name on
every device (uploaded once), but without the passphrase the name says nothing about the
content, not even its plain hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache

# `cryptography` is imported where a key is made or used, not here: every window (and a
# tray-only instance) imports this module with the sync controller, and the library's
# native part alone is ~6 MB of resident memory, for a device that may never sync.
from app.sync.errors import SyncError, TamperedFile, WrongPassphrase

MAGIC = b"SDS1"
_NONCE = 12
_CHECK = b"stepdesk sync key check"
FORMAT = "stepdesk-sync"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost, stored in the repository so every device derives the same key."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4


class Keys:
    def __init__(self, master: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._data = AESGCM(_hkdf(master, b"stepdesk sync data"))
        self._names = _hkdf(master, b"stepdesk sync names")

    def seal(self, plain: bytes, label: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return MAGIC + nonce + self._data.encrypt(nonce, plain, label.encode())

    def open(self, sealed: bytes, label: str) -> bytes:
        """The plaintext, or TamperedFile naming `label`."""
        if len(sealed) < len(MAGIC) + _NONCE + 16 or not sealed.startswith(MAGIC):
            raise TamperedFile(label)
        from cryptography.exceptions import InvalidTag

        nonce = sealed[len(MAGIC):len(MAGIC) + _NONCE]
        try:
            return self._data.decrypt(nonce, sealed[len(MAGIC) + _NONCE:], label.encode())
        except InvalidTag:
            raise TamperedFile(label) from None

    def blob_name(self, sha256_hex: str) -> str:
        return hmac.new(self._names, bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()


def _hkdf(master: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@lru_cache(maxsize=8)
def _derive(passphrase: str, salt: bytes, params: KdfParams) -> Keys:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    master = Argon2id(salt=salt, length=32, iterations=params.iterations, lanes=params.lanes,
                      memory_cost=params.memory_kib).derive(passphrase.encode("utf-8"))
    return Keys(master)


def new_repository(passphrase: str, params: KdfParams) -> tuple[bytes, Keys]:
    """The plain `sync.json` of a new repository (salt, cost, key check) and its keys."""
    salt = os.urandom(16)
    keys = _derive(passphrase, salt, params)
    doc = {"format": FORMAT, "version": 1, "kdf": "argon2id", **asdict(params),
           "salt": base64.b64encode(salt).decode(),
           "check": base64.b64encode(keys.seal(_CHECK, "sync.json")).decode()}
    return json.dumps(doc, indent=1).encode(), keys


def unlock(config: bytes, passphrase: str) -> Keys:
    """Keys for an existing repository; WrongPassphrase if the key check fails."""
    try:
        doc = json.loads(config)
        if doc.get("format") != FORMAT or doc.get("kdf") != "argon2id":
            raise ValueError
        if int(doc.get("version", 0)) > 1:
            raise SyncError("The sync folder was set up by a newer Step Desk; update it first.")
        params = KdfParams(int(doc["memory_kib"]), int(doc["iterations"]), int(doc["lanes"]))
        salt = base64.b64decode(doc["salt"])
        check = base64.b64decode(doc["check"])
    except SyncError:
        raise
    except (ValueError, KeyError, TypeError):
        raise SyncError("sync.json on the storage is not a Step Desk sync file.") from None
    keys = _derive(passphrase, salt, params)
    try:
        if keys.open(check, "sync.json") != _CHECK:
            raise TamperedFile("sync.json")
    except TamperedFile:
        raise WrongPassphrase("The sync passphrase is wrong for this storage; "
                              "nothing was changed.") from None
    return keys
