"""Encrypted backups and two-way sync of the history through storage the user already has.

Qt-free. Layers: `crypto` (keys, sealing), `targets` (a folder or WebDAV, atomic writes),
`layout` (where things live on the target), `engine` (one sync: merge others, write ours),
`secrets` (passphrase and WebDAV credentials). The SQL that merges lives in
`app/store/sync_merge.py` and runs on the store's worker thread.
"""
