"""Atomic writes: a failure or a killed writer never leaves a torn file, and errors name the file."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fpliif.engine.checkpoint import atomic_save
from fpliif.errors import CheckpointError, OutputError
from fpliif.fileio import atomic_write, atomic_write_many, remove_stale_temps, temp_path


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "one")
    atomic_write(p, b"two")
    atomic_write(p, lambda f: f.write(b"three"))
    assert p.read_text() == "three"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_the_old_file_and_names_it(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")

    def boom(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError) as info:
        atomic_write(p, boom)
    assert str(p) in str(info.value) and "No space left" in str(info.value)
    assert "previous version is intact" in str(info.value)
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_writer_cut_short_by_an_internal_error_names_the_file(tmp_path):
    # torch.save into a file reports a full disk from its zip writer as RuntimeError, not OSError
    def fail(f):
        f.write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")

    with pytest.raises(OutputError, match="last.pt.*cut short"):
        atomic_write(tmp_path / "last.pt", fail)
    assert list(tmp_path.iterdir()) == []


def test_any_failing_writer_leaves_no_temp_and_the_old_file(tmp_path):
    """A writer failing with something other than an OS error (a bad image mode, an interrupt)
    propagates unchanged, and neither a temporary file nor a torn target is left."""
    p = tmp_path / "a.png"
    p.write_bytes(b"old")

    def bad(f):
        f.write(b"\x89PNG")
        raise ValueError("cannot write mode F as PNG")

    with pytest.raises(ValueError, match="mode F"):
        atomic_write(p, bad)
    assert p.read_bytes() == b"old" and [x.name for x in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.parametrize("durable", [True, False])
def test_only_durable_writes_are_fsynced(tmp_path, monkeypatch, durable):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    atomic_write(tmp_path / "a.txt", "x", durable=durable)
    assert (tmp_path / "a.txt").read_text() == "x"
    assert len(synced) == (2 if durable else 0)  # the file, then its folder


def test_dataset_writers_create_folders_and_leave_no_temps(tmp_path):
    import numpy as np
    from PIL import Image

    from fpliif.data.io import read_json, write_image, write_json, write_label

    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    label = np.arange(64, dtype=np.uint8).reshape(8, 8) % 11
    write_image(tmp_path / "a" / "b" / "x.png", image)
    write_image(tmp_path / "a" / "b" / "x.jpg", image)
    write_label(tmp_path / "a" / "c" / "x.png", label)
    write_json(tmp_path / "a" / "meta.json", {"k": 1})
    assert (np.asarray(Image.open(tmp_path / "a" / "b" / "x.png")) == image).all()
    assert Image.open(tmp_path / "a" / "b" / "x.jpg").format == "JPEG"
    assert (np.asarray(Image.open(tmp_path / "a" / "c" / "x.png")) == label).all()
    assert read_json(tmp_path / "a" / "meta.json") == {"k": 1}
    names = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert names == ["meta.json", "x.jpg", "x.png", "x.png"]


def test_checkpoint_on_a_full_disk_is_a_checkpoint_error(tmp_path, monkeypatch):
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(builtins, "open", lambda p, *a, **k: Full(real_open(p, *a, **k)))
    with pytest.raises(CheckpointError, match="last.pt.*No space left on device"):
        atomic_save({"x": torch.ones(3)}, tmp_path / "last.pt")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder_gives_a_clear_error(tmp_path, monkeypatch):
    # chmod does not stop root (CI runs as root), so the folder's refusal is injected at open()
    import builtins

    real_open = builtins.open

    def refuse(p, mode="r", *a, **k):
        if "w" in mode and Path(p).parent == tmp_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(p))
        return real_open(p, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(OutputError, match="a.txt: could not write it: Read-only file system; nothing was"):
        atomic_write(tmp_path / "a.txt", "x")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_write_many_is_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.csv"
    atomic_write_many({a: "a1", b: "b1"})
    # a temp path that is a folder makes the second write fail after the first was staged
    os.mkdir(temp_path(b))
    with pytest.raises(OutputError, match="b.csv"):
        atomic_write_many({a: "a2", b: "b2"})
    assert a.read_text() == "a1" and b.read_text() == "b1"
    os.rmdir(temp_path(b))
    assert not temp_path(a).exists()


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".last.pt.tmp-{dead_pid}"
    stale.write_bytes(b"half")
    live = tmp_path / f".best.pt.tmp-{os.getppid()}"  # a running process: its write may be in flight
    live.write_bytes(b"busy")
    keep = tmp_path / "last.pt"
    keep.write_bytes(b"ok")
    assert remove_stale_temps(tmp_path) == [stale]
    assert live.exists() and keep.exists()
