"""`read_bounded` against a file that grows while it is read (a log being written)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.boundedread import CHUNK, ReadRefused, read_bounded

LIMIT = CHUNK // 4


def test_file_growing_while_read_is_bounded_by_bytes_read(tmp_path: Path) -> None:
    """Whatever the race between writer and reader, the read ends and never returns more
    than the limit: either the bytes that were there (at most LIMIT) or one refusal."""
    path = tmp_path / "growing.log"
    path.write_bytes(b"start\n")
    done = threading.Event()

    def grow() -> None:  # writes ahead of the reader, bounded so the test always ends
        with path.open("ab", buffering=0) as out:
            for _ in range(4 * LIMIT // 4096):
                if done.is_set():
                    return
                out.write(b"x" * 4095 + b"\n")

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        try:
            data = read_bounded(path, LIMIT, what="template file")
        except ReadRefused as exc:
            assert str(exc).endswith("it is not a template file.")
            assert "growing.log is larger than" in str(exc)
        else:
            assert data.startswith(b"start\n")
            assert len(data) <= LIMIT
    finally:
        done.set()
        writer.join()


def test_file_that_grew_past_the_limit_before_the_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grown.log"
    path.write_bytes(b"start\n")
    with path.open("ab") as out:  # what a writer did between the caller's stat and the read
        out.write(b"y" * LIMIT)
    with pytest.raises(ReadRefused, match="larger than"):
        read_bounded(path, LIMIT)


def test_exactly_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "edge.json"
    path.write_bytes(b"z" * LIMIT)
    assert read_bounded(path, LIMIT) == b"z" * LIMIT
