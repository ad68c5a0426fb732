"""The StepFun HTTP protocol: requests, streaming, files, errors. Knows nothing of Qt or SQLite.

`client.StepClient` is the entry point; `request` builds the wire bodies, `sse_lines`,
`sse_chat` and `sse_messages` turn replies into `events`, `files` streams uploads from disk, and
`errors` holds the typed failures with their human messages.
"""
