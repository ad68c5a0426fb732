"""Local storage: SQLite history, uploads cache, settings, content-addressed blobs.

Qt-free. `Store` is the async facade (one worker thread, one connection); `BlobStore` keeps
attachment bytes on disk. See DESIGN.md "Data model" and contracts.md "app/store".
"""

from app.store.blobs import BlobStore
from app.store.changes import Changes
from app.store.errors import CorruptDatabaseError, NewerSchemaError, StoreError
from app.store.history import INTERRUPTED_ERROR
from app.store.records import (
    AttachmentRecord,
    ComparisonRecord,
    Conversation,
    Message,
    SearchHit,
    UploadRecord,
)
from app.store.store import Store

__all__ = [
    "INTERRUPTED_ERROR",
    "AttachmentRecord",
    "BlobStore",
    "Changes",
    "ComparisonRecord",
    "Conversation",
    "CorruptDatabaseError",
    "Message",
    "NewerSchemaError",
    "SearchHit",
    "Store",
    "StoreError",
    "UploadRecord",
]
