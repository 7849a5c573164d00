"""The atomic writer: the target holds the old content or the new, never a part, and no
temporary file is left behind, whether the write succeeds or fails half-way."""

from __future__ import annotations

import os
import stat
import threading

import numpy as np
import pytest

from assay._atomic import atomic_open, atomic_write_bytes, atomic_write_text


def test_a_write_replaces_the_target_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    assert atomic_write_text(target, '{"new": "é"}') == target
    assert target.read_text(encoding="utf-8") == '{"new": "é"}'
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_an_exception_half_way_keeps_the_old_target_and_removes_the_temporary_file(tmp_path):
    target = tmp_path / "vectors.npy"
    np.save(target, np.zeros(3))
    with pytest.raises(RuntimeError, match="half-way"), atomic_open(target) as handle:
        handle.write(b"\x93NUMPY partial")
        assert os.path.dirname(handle.name) == str(tmp_path)  # staged beside the target
        raise RuntimeError("half-way")
    np.testing.assert_array_equal(np.load(target), np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.npy"]


def test_a_text_that_cannot_be_encoded_fails_without_touching_the_target(tmp_path):
    target = tmp_path / "page.html"
    target.write_text("finished page")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "a" * 10_000 + "\udc80")  # a lone surrogate
    assert target.read_text() == "finished page"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_a_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "absent" / "x.bin", b"x")
    assert list(tmp_path.iterdir()) == []


def test_streaming_through_a_handle_writes_what_np_save_wrote(tmp_path):
    target = tmp_path / "cache.npy"
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    with atomic_open(target) as handle:
        np.save(handle, vectors)
    np.testing.assert_array_equal(np.load(target), vectors)
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npy"]


def test_permissions_follow_the_umask_unless_given(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o640
    atomic_write_text(tmp_path / "private.json", "x", permissions=0o600)
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600


def test_a_reader_never_sees_a_half_written_target_while_writers_race(tmp_path):
    target = tmp_path / "big.bin"
    contents = [bytes([i]) * 2_000_000 for i in range(4)]
    atomic_write_bytes(target, contents[0])
    errors: list[BaseException] = []
    seen: set[bytes] = set()
    stop = threading.Event()

    def write(data: bytes) -> None:
        try:
            for _ in range(15):
                atomic_write_bytes(target, data)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def read() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            if data not in contents:
                seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(c,)) for c in contents]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert errors == [] and seen == set()
    assert target.read_bytes() in contents
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]
