"""Where each file lives on a sync target, and the small JSON records describing them.

```
sync.json                      salt, Argon2id cost, key check (plain; no secrets)
blobs/<hmac>                   one sealed media file each, shared and write-once
devices/<device>/head          sealed: this device's latest seq, snapshot and manifest names
devices/<device>/manifest-<n>  sealed: what this device wrote (snapshots, blobs)
devices/<device>/snap-<n>      sealed, zstd-compressed SQLite snapshot
devices/<device>/tmp/          uploads in progress (`.tmp-*`, moved into place when whole)
```
A device writes only under its own folder (and adds blobs nobody has yet); it never touches
another device's files.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from app.sync.errors import TamperedFile

CONFIG = "sync.json"
BLOBS = "blobs"
DEVICES = "devices"
KEEP_SNAPSHOTS = 5
_DEVICE_RE = re.compile(r"[0-9a-f]{32}")


def is_device(name: str) -> bool:
    return bool(_DEVICE_RE.fullmatch(name))


def device_dir(device: str) -> str:
    return f"{DEVICES}/{device}"


def tmp_dir(device: str) -> str:
    return f"{DEVICES}/{device}/tmp"


def head(device: str) -> str:
    return f"{DEVICES}/{device}/head"


def manifest(device: str, seq: int) -> str:
    return f"{DEVICES}/{device}/manifest-{seq}"


def snapshot(device: str, seq: int) -> str:
    return f"{DEVICES}/{device}/snap-{seq}"


def blob(name: str) -> str:
    return f"{BLOBS}/{name}"


@dataclass(frozen=True)
class SnapshotEntry:
    device: str
    device_name: str
    seq: int
    written_at: int  # ms since the epoch, by the writer's clock
    schema: int
    size: int

    @property
    def ref(self) -> str:
        """How the CLI names it: `<device>/<seq>` (a device prefix is enough)."""
        return f"{self.device}/{self.seq}"


@dataclass
class Head:
    device: str
    device_name: str
    seq: int
    hlc: int
    schema: int
    written_at: int
    snapshots: list[SnapshotEntry] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes, label: str) -> Head:
        try:
            doc = json.loads(data)
            snaps = [SnapshotEntry(**s) for s in doc.pop("snapshots")]
            return cls(**doc, snapshots=snaps)
        except (ValueError, TypeError, KeyError):
            raise TamperedFile(label) from None


def manifest_bytes(device: str, seq: int, snapshots: list[SnapshotEntry],
                   blobs: list[str]) -> bytes:
    return json.dumps({"device": device, "seq": seq,
                       "snapshots": [s.ref for s in snapshots], "blobs": blobs}).encode()


def manifest_blobs(data: bytes, label: str) -> list[str]:
    try:
        blobs = json.loads(data)["blobs"]
        if not all(isinstance(b, str) and re.fullmatch(r"[0-9a-f]{64}", b) for b in blobs):
            raise ValueError
        return list(blobs)
    except (ValueError, TypeError, KeyError):
        raise TamperedFile(label) from None
