"""The StepFun HTTP protocol: requests, streaming, files, errors. Knows nothing of Qt or SQLite."""
