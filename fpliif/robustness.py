"""``fpliif robustness``: faults and bad input, tried for real, with the figures written to a report.

    fpliif robustness                      # every family; writes results/robustness.md
    fpliif robustness --quick --only data  # a subset, fewer kills

Families (each case is run, never assumed; ``tests/test_robustness.py`` runs the same code):

* ``interrupted``: ``fpliif train`` (a subprocess, deterministic CPU mode) is SIGKILLed at seeded
  random points and inside checkpoint writes, then resumed each time; the result must equal an
  uninterrupted run with the same seed, and every checkpoint left on disk must load.
* ``data``: small LaPa, Helen and CelebAMask-HQ trees (hand-made arrays) are damaged in 100+ ways;
  each case must end in a ``DataError`` naming the file, or with ``skip_bad`` in a recorded skip,
  and every other sample must keep exactly its true label.
* ``checkpoints``: pickle payloads (with a marker file they would create), corrupt files and
  checkpoints for another label set or architecture must be refused with a clear message.
* ``predict``: odd image files through ``fpliif predict``: a correct output or a clear error.
* ``disk``: a full disk and a read-only output folder during training and evaluation. Where user
  namespaces are available the faults are real (a private tmpfs that is filled up or remounted
  read-only under the running process); faults at exact points are injected in-process.
* ``notebooks``: a failing cell must stop the batch runner (``fpliif.pipeline.run_notebooks`` and
  ``fpliif run``) with an error, keep the partly executed notebook and run nothing after it
  (reported as pending where the runner is missing).

Real faults, not mocks, wherever they can be had without privileges: SIGKILL of a real
``fpliif train`` process (held inside a write by an ``open()`` wrapper in the child so the kill
lands there every time), a tmpfs in a user + mount namespace that fills up or turns read-only,
files really damaged on disk, pickle payloads that really run when loaded unsafely (the control).
What is injected in-process (an ``OSError`` at one exact ``open``/``fsync``/``rename``) says so in
the case name.

A case either passes, fails, is known to fail because of a listed bug whose fix is proposed
(``KNOWN_BUGS``; counted as failed), or does not apply here (with the reason).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import io
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FAMILIES = ("interrupted", "data", "checkpoints", "predict", "disk", "notebooks")
DEFAULT_OUT = "results/robustness.md"

# Bugs found by this suite in files its author was asked not to edit; the fixes are proposed to
# the lead. A case that fails only because of one of these counts as failed ("known"), not as an
# unexplained failure. When a fix lands, the case passes and its entry here can go.
KNOWN_BUGS: dict[str, str] = {}

# Found by this suite in its first run and fixed since (fpliif/fileio.py, engine/train.py,
# engine/checkpoint.py, engine/evaluate.py, engine/config.py); listed in the report.
FIXED_BUGS: dict[str, str] = {
    "K1": "a SIGKILL inside a checkpoint write left its temp file; stale temps are now removed at start",
    "K2": "best.pt was written after last.pt, so a kill between them lost that epoch's best for good",
    "K3": "log.jsonl was appended after last.pt: a kill lost or tore a line; it is now rebuilt from last.pt",
    "K4": "config.yaml was written in place; a kill left it truncated for `--resume`",
    "K5": "a read-only folder turned the clear checkpoint error into a bare OSError about the temp file",
    "K6": "evaluation results were written in place: a full disk truncated the earlier ones",
    "K7": "a failed log.jsonl append ended training with an OSError naming no file",
    "K8": "torch.save cut short by a full disk surfaced torch's internal message and left its temp file",
}


# -- results -----------------------------------------------------------------------------------
@dataclass
class Case:
    """One thing tried. ``status``: pass, fail, known (fails because of ``bug``), n/a (with ``detail``)."""

    name: str
    status: str
    detail: str = ""
    bug: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class Family:
    name: str
    title: str
    pass_means: str
    cases: list[Case] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pending: str | None = None  # why the family could not run at all

    def add(
        self, name: str, ok: bool, detail: str = "", *, bug: str | None = None, always: bool = True
    ) -> Case:
        """``bug``: the known bug that explains a failure; ``always``: the case triggers it every time
        (a pass then means it is fixed), rather than only when a random kill lands in its window."""
        status = "pass" if ok else ("known" if bug else "fail")
        if ok and bug and always:
            detail = f"{detail} (known bug {bug} no longer shows: remove its marker)".strip()
        case = Case(name, status, detail, bug if not ok else None)
        self.cases.append(case)
        return case

    def na(self, name: str, why: str) -> None:
        self.cases.append(Case(name, "n/a", why))

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def tried(self) -> int:
        return sum(c.status != "n/a" for c in self.cases)

    @property
    def unexpected(self) -> list[Case]:
        return [c for c in self.cases if c.status == "fail"]


@dataclass
class SuiteResult:
    families: list[Family]
    seed: int
    quick: bool
    seconds: float
    meta: dict[str, Any]


def _short(text: str, n: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


# -- small helpers -------------------------------------------------------------------------------
def _tmp_files(folder: Path) -> list[str]:
    """Checkpoint temp files (atomic_save's ``.<name>.tmp-<pid>``) and other dot-temp files."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


@contextlib.contextmanager
def _captured() -> Iterator[dict[str, str]]:
    """Capture stdout and stderr of in-process CLI calls (the dict is filled on exit)."""
    out, err = io.StringIO(), io.StringIO()
    box: dict[str, str] = {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            yield box
        finally:
            box["out"], box["err"] = out.getvalue(), err.getvalue()


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``fpliif ARGV`` in this process: (exit code, stdout, stderr). Tracebacks are failures."""
    from .cli import main

    with _captured() as box:
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 - an uncaught exception is what we look for
            rc = -1
            print(f"UNCAUGHT {type(exc).__name__}: {exc}", file=sys.stderr)
    return rc, box["out"], box["err"]


def _one_line_error(rc: int, err: str, command: str) -> tuple[bool, str]:
    """A non-zero exit with exactly one ``fpliif CMD: error: ...`` line, no traceback."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"fpliif {command}: error: ")]
    ok = rc not in (0, -1) and len(errors) >= 1 and "Traceback" not in err
    return ok, errors[-1] if errors else _short(err or f"exit {rc}, no message")


def _python() -> str:
    return sys.executable


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _tiny_labels(seed: int, num_classes: int, h: int = 24, w: int = 32) -> np.ndarray:
    """Blocks of 4x4 random ids (seeded): not square, so a swapped axis shows."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, num_classes, (h // 4, w // 4))
    return np.kron(ids, np.ones((4, 4), dtype=np.int64)).astype(np.uint8)


_LUT = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)


def _image_for(label: np.ndarray, scale: int = 1) -> np.ndarray:
    return np.kron(_LUT[label], np.ones((scale, scale, 1), dtype=np.uint8))


def _encode(array: np.ndarray, fmt: str, **options: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    img = array if not isinstance(array, np.ndarray) else Image.fromarray(array)
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A 200-byte PNG whose header claims ``width`` x ``height`` grey pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


# == data: damaged dataset trees =================================================================
H, W = 24, 32
LAPA_TRAIN = ("lapa_0", "lapa_1", "lapa_2", "lapa_3")
HELEN_TRAIN = ("h_0", "h_1", "h_2")
CELEB_TRAIN = ("0", "1", "2")
HTML = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_lapa(root: Path) -> dict[str, np.ndarray]:
    """A LaPa-layout tree (4 train, 1 val, 1 test samples); returns the train labels by name."""
    truth = {}
    for split, names in (("train", LAPA_TRAIN), ("val", ("val_0",)), ("test", ("test_0",))):
        for i, name in enumerate(names):
            label = _tiny_labels(100 + 10 * len(split) + i, 11)
            _write(root / split / "images" / f"{name}.jpg", _encode(_image_for(label), "JPEG", quality=95))
            _write(root / split / "labels" / f"{name}.png", _encode(label, "PNG"))
            if split == "train":
                truth[name] = label
    return truth


def _helen_maps(label: np.ndarray, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.where(label == c, 200, rng.integers(0, 150, label.shape)).astype(np.uint8) for c in range(11)]


def build_helen(root: Path) -> dict[str, np.ndarray]:
    """A Helen-layout tree: images/, labels/{name}/{name}_lbl00..10.png, the three split lists."""
    truth = {}
    lists = {"exemplars.txt": HELEN_TRAIN, "tuning.txt": ("hv_0",), "testing.txt": ("ht_0",)}
    for s, (file, names) in enumerate(lists.items()):
        _write(root / file, "".join(f"{i + 1} , {n}\n" for i, n in enumerate(names)).encode())
        for i, name in enumerate(names):
            label = _tiny_labels(200 + 10 * s + i, 11)
            _write(root / "images" / f"{name}.jpg", _encode(_image_for(label), "JPEG", quality=95))
            for c, grey in enumerate(_helen_maps(label, 10 * s + i)):
                _write(root / "labels" / name / f"{name}_lbl{c:02d}.png", _encode(grey, "PNG"))
            if file == "exemplars.txt":
                truth[name] = label
    return truth


def build_celebamask(root: Path) -> dict[str, np.ndarray]:
    """A prepared CelebAMask-HQ tree ``root/prep`` whose images (2x the maps) are in ``root/raw``."""
    truth = {}
    splits = {"train": CELEB_TRAIN, "val": ("3",), "test": ("4",)}
    for split, ks in splits.items():
        _write(root / "prep" / f"{split}.txt", "".join(f"{k}\n" for k in ks).encode())
        for k in ks:
            label = _tiny_labels(300 + int(k), 19)
            _write(
                root / "raw" / "CelebA-HQ-img" / f"{k}.jpg", _encode(_image_for(label, 2), "JPEG", quality=95)
            )
            _write(root / "prep" / "labels" / f"{k}.png", _encode(label, "PNG"))
            if split == "train":
                truth[k] = label
    _celeb_meta(root)
    return truth


def _celeb_meta(root: Path, **changes: Any) -> None:
    meta = {"dataset": "celebamask-hq", "version": 1, "raw_root": str(root / "raw"), "counts": {}}
    meta.update(changes)
    (root / "prep" / "fpliif-prepared.json").write_text(json.dumps(meta))


# Raw CelebAMask-HQ (for `prepare`): rectangles of parts whose merge order matters.
_RAW_PARTS = {
    "skin": (slice(2, 22), slice(4, 28)),
    "l_eye": (slice(8, 12), slice(18, 24)),
    "r_eye": (slice(8, 12), slice(8, 14)),
    "hair": (slice(0, 8), slice(0, 32)),
    "hat": (slice(0, 4), slice(6, 26)),
    "neck": (slice(18, 24), slice(10, 22)),
}
_RAW_ORIGS = {0: 5, 1: 100, 2: 170000, 3: 190000}  # train, train, val, test


def build_celebamask_raw(root: Path) -> dict[str, np.ndarray]:
    """The CelebAMask-HQ distribution layout; returns the merged label each image must get."""
    from .data.info import CELEBAMASK_PARTS

    truth = {}
    for k, orig in _RAW_ORIGS.items():
        expected = np.zeros((H, W), dtype=np.uint8)
        parts = dict(_RAW_PARTS)
        parts["l_brow"] = (slice(6, 8), slice(4 + 2 * k, 10 + 2 * k))  # differs per image
        for part in CELEBAMASK_PARTS:
            if part in parts:
                mask = np.zeros((H, W), dtype=np.uint8)
                mask[parts[part]] = 255
                _write(root / "CelebAMask-HQ-mask-anno" / "0" / f"{k:05d}_{part}.png", _encode(mask, "PNG"))
                expected[parts[part]] = CELEBAMASK_PARTS.index(part) + 1
        _write(root / "CelebA-HQ-img" / f"{k}.jpg", _encode(_image_for(expected, 2), "JPEG", quality=95))
        if orig < 162771:  # the train split: what build_dataset(..., "train") must read back
            truth[str(k)] = expected
    lines = ["idx orig_idx orig_file"] + [f"{k} {o} {o + 1:06d}.jpg" for k, o in _RAW_ORIGS.items()]
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    return truth


# -- mutations: each returns a function that damages the tree at ``root`` --------------------------
Mutation = Callable[[Path], None]


def _bytes_op(rel: str, fn: Callable[[bytes], bytes]) -> Mutation:
    def mutate(root: Path) -> None:
        p = root / rel
        p.write_bytes(fn(p.read_bytes()))

    return mutate


def cut(rel: str, n: int | float) -> Mutation:
    """Truncate to ``n`` bytes (an int; negative: drop that many from the end) or a fraction."""
    return _bytes_op(rel, lambda b: b[: (int(len(b) * n) if isinstance(n, float) else n)])


def _cut_name(n: int | float) -> str:
    if isinstance(n, float):
        return f"to {n:.0%}"
    return f"to {n} bytes" if n > 0 else f"by its last {-n} bytes"


def put(rel: str, data: bytes | Callable[[], bytes]) -> Mutation:
    def mutate(root: Path) -> None:
        _write(root / rel, data() if callable(data) else data)

    return mutate


def flip(rel: str, where: Callable[[bytes], int]) -> Mutation:
    def fn(b: bytes) -> bytes:
        out = bytearray(b)
        out[where(b)] ^= 0x55
        return bytes(out)

    return _bytes_op(rel, fn)


def reencode(rel: str, fmt: str, convert: Callable[[Any], Any] | None = None, **options: Any) -> Mutation:
    """Decode the file and store it again in ``fmt`` (after ``convert``) under the same name."""

    def mutate(root: Path) -> None:
        from PIL import Image

        p = root / rel
        with Image.open(p) as img:
            img.load()
            img = convert(img) if convert else img
            p.write_bytes(_encode(img, fmt, **options))

    return mutate


def rm(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        p = root / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    return mutate


def mv(rel: str, new: str) -> Mutation:
    return lambda root: os.replace(root / rel, root / new)


def cp(rel: str, new: str) -> Mutation:
    return lambda root: shutil.copyfile(root / rel, root / new)


def as_dir(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()

    return mutate


def dangling(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / "no-such-file.bin")

    return mutate


def chmod0(rel: str) -> Mutation:
    return lambda root: os.chmod(root / rel, 0)


def swap(a: str, b: str) -> Mutation:
    def mutate(root: Path) -> None:
        da, db = (root / a).read_bytes(), (root / b).read_bytes()
        (root / a).write_bytes(db)
        (root / b).write_bytes(da)

    return mutate


def seq(*ops: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for op in ops:
            op(root)

    return mutate


def text(rel: str, content: str) -> Mutation:
    return lambda root: (root / rel).write_text(content)


def _idat(offset: int) -> Callable[[bytes], int]:
    return lambda b: b.index(b"IDAT") + 4 + offset


@dataclass
class DataCase:
    """One damaged tree. ``expect``: sample (that sample fails, or is skipped with skip_bad), fatal
    (the dataset cannot be built, in either mode), ok (must read, every label exact), either (ok or
    sample). ``paths``: the files (relative) one of which the error must name; ``words``: a regex the
    problem must match; ``bad``: the samples that must fail or be skipped."""

    layout: str
    name: str
    mutate: Mutation
    expect: str
    paths: tuple[str, ...] = ()
    words: str = ""
    bad: tuple[str, ...] = ()
    loader: bool = False  # also read the bad sample through a DataLoader worker process
    truth: dict[str, np.ndarray] | None = None  # label overrides for ok cases
    images: dict[str, np.ndarray] | None = None  # exact images expected for ok cases
    needs_non_root: bool = False
    note: str = ""


def data_cases(truths: dict[str, dict[str, np.ndarray]]) -> list[DataCase]:
    """The catalogue: LaPa, Helen, prepared CelebAMask-HQ and raw CelebAMask-HQ (``prepare``)."""
    cases: list[DataCase] = []
    T = truths

    # -- LaPa: one sample's image and label, and the folders ---------------------------------------
    img, lbl = "train/images/lapa_1.jpg", "train/labels/lapa_1.png"
    lab = T["lapa"]["lapa_1"]
    pic = _image_for(lab)

    def L(name, mutate, expect, paths=(), words="", bad=("lapa_1",), **kw):  # noqa: N802
        cases.append(DataCase("lapa", name, mutate, expect, tuple(paths), words, tuple(bad), **kw))

    unreadable = r"truncat|corrupt|not a readable|cannot read|empty"
    L("image: zero bytes", put(img, b""), "sample", [img], "empty", loader=True)
    for n in (1, 16, 100, 0.25, 0.5, 0.75, -2, -1):
        L(f"image: truncated {_cut_name(n)}", cut(img, n), "sample", [img], unreadable, loader=n == 0.5)
    L("image: a text file", text(img, "this is not a picture\n"), "sample", [img], "not a readable")
    L("image: an HTML error page", put(img, HTML), "sample", [img], "not a readable")
    L("image: random bytes", put(img, np.random.default_rng(5).bytes(700)), "sample", [img], unreadable)
    L("image: JPEG header only", cut(img, 20), "sample", [img], unreadable)
    L("image: a directory named like it", as_dir(img), "sample", [img], "cannot read|directory", loader=True)
    L("image: dangling symlink", dangling(img), "sample", [img], "not found")
    L("image: decompression bomb header", put(img, bomb_png()), "sample", [img], "too large")
    L("image: 1x1 pixel", put(img, _encode(pic[:1, :1], "PNG")), "sample", [lbl], r"\d+x\d+")
    L(
        "image: twice the label's size",
        put(img, _encode(_image_for(lab, 2), "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
    )
    L(
        "image: transposed (W x H)",
        put(img, _encode(pic.transpose(1, 0, 2).copy(), "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
    )
    L(
        "image: one column short",
        put(img, _encode(pic[:, :-1], "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
        loader=True,
    )
    L("image: missing", rm(img), "sample", [lbl], "without an image")
    L(
        "image: renamed .bmp (not an image extension)",
        mv(img, img[:-4] + ".bmp"),
        "sample",
        [lbl],
        "without an image",
    )
    L(
        "image: a second image with the same name (.png)",
        put(img[:-4] + ".png", _encode(pic, "PNG")),
        "sample",
        [img, img[:-4] + ".png"],
        "same name|share|duplicate",
    )
    L(
        "image: unreadable permissions (chmod 000)",
        chmod0(img),
        "sample",
        [img],
        "cannot read|permission",
        needs_non_root=True,
    )
    # Other encodings of the same picture are not data errors: they must read, with the right label.
    for fmt, opts in (("PNG", {}), ("TIFF", {}), ("BMP", {}), ("WEBP", {"lossless": True})):
        L(
            f"image: {fmt}-encoded but named .jpg (acceptable)",
            put(img, _encode(pic, fmt, **opts)),
            "ok",
            images={"lapa_1": pic},
        )
    L("image: GIF (palette) named .jpg (acceptable)", put(img, _encode(pic, "GIF")), "ok")
    L("image: CMYK JPEG (acceptable)", reencode(img, "JPEG", lambda i: i.convert("CMYK")), "ok")
    L("image: greyscale JPEG (acceptable)", reencode(img, "JPEG", lambda i: i.convert("L")), "ok")
    alpha = np.dstack([pic, np.full(pic.shape[:2], 77, np.uint8)])
    L("image: RGBA PNG (acceptable)", put(img, _encode(alpha, "PNG")), "ok", images={"lapa_1": pic})
    grey16 = (pic[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    L(
        "image: 16-bit greyscale PNG (acceptable, scaled to 8 bits)",
        put(img, _encode(grey16, "PNG")),
        "ok",
        images={"lapa_1": np.repeat(pic[..., :1], 3, axis=2)},
    )
    L("image: extension .JPG (acceptable)", mv(img, img[:-4] + ".JPG"), "ok")
    L("image: extension .jpeg (acceptable)", mv(img, img[:-4] + ".jpeg"), "ok")

    L("label: zero bytes", put(lbl, b""), "sample", [lbl], "empty", loader=True)
    for n in (1, 8, 33, 0.25, 0.5, 0.75):
        L(f"label: truncated {_cut_name(n)}", cut(lbl, n), "sample", [lbl], unreadable, loader=n == 0.5)
    for n in (-1, -12, -13):  # only the end chunk lost: the pixels may still be complete
        L(f"label: truncated {_cut_name(n)}", cut(lbl, n), "either", [lbl], unreadable)
    L("label: a text file", text(lbl, "0 1 2 3\n"), "sample", [lbl], "not a readable")
    L("label: an HTML error page", put(lbl, HTML), "sample", [lbl], "not a readable")
    L("label: random bytes", put(lbl, np.random.default_rng(6).bytes(300)), "sample", [lbl], unreadable)
    for where, at in (
        ("header", lambda b: 18),
        ("data start", _idat(2)),
        ("data middle", _idat(12)),
        (
            "data end",
            lambda b: (
                b.index(b"IDAT") + 4 + int.from_bytes(b[b.index(b"IDAT") - 4 : b.index(b"IDAT")], "big") - 1
            ),
        ),
    ):
        L(f"label: a flipped byte in the PNG {where}", flip(lbl, at), "either", [lbl], unreadable)
    L(
        "label: JPEG-compressed (lossy ids) named .png",
        put(lbl, _encode(lab, "JPEG", quality=95)),
        "sample",
        [lbl],
        "JPEG|lossy",
        loader=True,
    )
    L("label: colour (RGB) map", put(lbl, _encode(_image_for(lab), "PNG")), "sample", [lbl], "mode RGB")
    L(
        "label: grey ids stored as RGB",
        put(lbl, _encode(np.repeat(lab[..., None], 3, 2), "PNG")),
        "sample",
        [lbl],
        "mode RGB",
    )
    L("label: RGBA", put(lbl, _encode(np.dstack([lab] * 4), "PNG")), "sample", [lbl], "mode RGBA")
    L("label: grey + alpha (LA)", put(lbl, _encode(np.dstack([lab, lab]), "PNG")), "sample", [lbl], "mode LA")
    L(
        "label: float TIFF named .png",
        put(lbl, _encode(lab.astype(np.float32), "TIFF")),
        "sample",
        [lbl],
        "mode F",
    )
    L(
        "label: 16-bit ids above 255",
        put(lbl, _encode(lab.astype(np.uint16) + 300, "PNG")),
        "sample",
        [lbl],
        "do not fit|label ids",
    )
    for value in (11, 12, 19, 100, 254):
        bad_lab = lab.copy()
        bad_lab[5, 7] = value
        L(
            f"label: one pixel with id {value} (LaPa has 0..10)",
            put(lbl, _encode(bad_lab, "PNG")),
            "sample",
            [lbl],
            r"label ids",
            loader=value == 100,
        )
    L(
        "label: every pixel id 11",
        put(lbl, _encode(np.full_like(lab, 11), "PNG")),
        "sample",
        [lbl],
        "label ids",
    )
    ignore = lab.copy()
    ignore[:4, :8] = 255
    L(
        "label: 255 (= ignore) pixels (acceptable)",
        put(lbl, _encode(ignore, "PNG")),
        "ok",
        truth={"lapa_1": ignore},
    )
    L("label: 16-bit PNG of valid ids (acceptable)", put(lbl, _encode(lab.astype(np.uint16), "PNG")), "ok")
    L("label: palette PNG of valid ids (acceptable)", reencode(lbl, "PNG", lambda i: i.convert("P")), "ok")
    L("label: GIF of valid ids named .png (acceptable)", put(lbl, _encode(lab, "GIF")), "ok")
    L("label: half size", put(lbl, _encode(lab[::2, ::2], "PNG")), "sample", [lbl], r"\d+x\d+")
    L(
        "label: one column more",
        put(lbl, _encode(np.pad(lab, ((0, 0), (0, 1))), "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
    )
    L("label: transposed", put(lbl, _encode(lab.T.copy(), "PNG")), "sample", [lbl], r"\d+x\d+")
    L(
        "label: twice the image's size",
        put(lbl, _encode(np.kron(lab, np.ones((2, 2), np.uint8)), "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
        loader=True,
    )
    L("label: 1x1", put(lbl, _encode(lab[:1, :1], "PNG")), "sample", [lbl], r"\d+x\d+")
    L("label: decompression bomb header", put(lbl, bomb_png()), "sample", [lbl], "too large")
    L("label: a directory named like it", as_dir(lbl), "sample", [lbl], "cannot read|directory")
    L("label: dangling symlink", dangling(lbl), "sample", [lbl], "not found")
    L("label: missing", rm(lbl), "sample", [img], "without a label")
    L(
        "label: renamed to another stem",
        mv(lbl, "train/labels/lapa_9.png"),
        "sample",
        [img, "train/labels/lapa_9.png"],
        "without",
    )
    L("label: named .jpg in labels/", mv(lbl, lbl[:-4] + ".jpg"), "sample", [img], "without a label")
    L(
        "label: a second map with the same name (.PNG)",
        cp(lbl, lbl[:-4] + ".PNG"),
        "sample",
        [lbl, lbl[:-4] + ".PNG"],
        "same name|share|duplicate",
    )
    L("label: extension .PNG (acceptable)", mv(lbl, lbl[:-4] + ".PNG"), "ok")
    L(
        "label: unreadable permissions (chmod 000)",
        chmod0(lbl),
        "sample",
        [lbl],
        "cannot read|permission",
        needs_non_root=True,
    )
    L("image and label swapped", swap(img, lbl), "sample", [lbl], "mode RGB|JPEG", loader=True)
    L(
        "label of another sample, wrong size",
        put(lbl, _encode(_tiny_labels(9, 11, 16, 16), "PNG")),
        "sample",
        [lbl],
        r"\d+x\d+",
    )
    L("dataset folder missing", rm(""), "fatal", [""], "not found")
    L("split folder missing", rm("train"), "fatal", ["train"], "not found")
    L("images/ folder missing", rm("train/images"), "fatal", ["train/images"], "not found")
    L("labels/ folder missing", rm("train/labels"), "fatal", ["train/labels"], "not found")
    L(
        "images/ is a file",
        seq(rm("train/images"), put("train/images", b"x")),
        "fatal",
        ["train/images"],
        "not a folder",
    )
    L(
        "split folder empty",
        seq(
            rm("train/images"),
            rm("train/labels"),
            lambda r: (r / "train/images").mkdir(),
            lambda r: (r / "train/labels").mkdir(),
        ),
        "fatal",
        [""],
        "no usable samples",
    )

    # -- Helen ----------------------------------------------------------------------------------
    himg, hdir, hmap = "images/h_1.jpg", "labels/h_1", "labels/h_1/h_1_lbl03.png"
    hlab = T["helen"]["h_1"]
    maps = _helen_maps(hlab, 1)

    def He(name, mutate, expect, paths=(), words="", bad=("h_1",), **kw):  # noqa: N802
        cases.append(DataCase("helen", name, mutate, expect, tuple(paths), words, tuple(bad), **kw))

    He("class map: zero bytes", put(hmap, b""), "sample", [hmap], "empty", loader=True)
    He("class map: truncated by half", cut(hmap, 0.5), "sample", [hmap], unreadable)
    He("class map: a text file", text(hmap, "nope"), "sample", [hmap], "not a readable")
    He(
        "class map: random bytes",
        put(hmap, np.random.default_rng(7).bytes(200)),
        "sample",
        [hmap],
        unreadable,
    )
    He(
        "class map: JPEG-compressed named .png",
        put(hmap, _encode(maps[3], "JPEG", quality=90)),
        "sample",
        [hmap],
        "JPEG|lossy",
    )
    He("class map: decompression bomb header", put(hmap, bomb_png()), "sample", [hmap], "too large")
    He(
        "class map: another size than the others",
        put(hmap, _encode(maps[3][:12], "PNG")),
        "sample",
        [hdir],
        "differ in size",
    )
    He(
        "class maps: all half size",
        seq(*[put(f"{hdir}/h_1_lbl{c:02d}.png", _encode(m[::2, ::2], "PNG")) for c, m in enumerate(maps)]),
        "sample",
        [hdir],
        r"\d+x\d+",
    )
    He("class map: missing", rm(hmap), "sample", [hdir], "missing")
    He("class map: named .PNG", mv(hmap, hmap[:-4] + ".PNG"), "sample", [hdir], "missing")
    He("class maps folder missing", rm(hdir), "sample", [hdir], "missing")
    He(
        "class map: grey stored as RGB (acceptable)",
        put(hmap, _encode(np.repeat(maps[3][..., None], 3, 2), "PNG")),
        "ok",
    )
    He(
        "class maps: 16-bit PNGs (acceptable, scaled to 8 bits)",
        seq(
            *[
                put(f"{hdir}/h_1_lbl{c:02d}.png", _encode(m.astype(np.uint16) * 257, "PNG"))
                for c, m in enumerate(maps)
            ]
        ),
        "ok",
    )
    He("image: missing", rm(himg), "sample", [himg], "not found")
    He("image: zero bytes", put(himg, b""), "sample", [himg], "empty")
    He("image: truncated by half", cut(himg, 0.5), "sample", [himg], unreadable, loader=True)
    He(
        "image: transposed",
        put(himg, _encode(_image_for(hlab).transpose(1, 0, 2).copy(), "PNG")),
        "sample",
        [hdir],
        r"\d+x\d+",
    )
    He("split list: missing", rm("exemplars.txt"), "fatal", ["exemplars.txt"], "not found")
    He("split list: empty", put("exemplars.txt", b""), "fatal", ["exemplars.txt"], "empty")
    He(
        "split list: a malformed line",
        put("exemplars.txt", b"1 , h_0\n2 h_1\n"),
        "fatal",
        ["exemplars.txt"],
        "line 2",
    )
    He(
        "split list: a name listed twice",
        put("exemplars.txt", b"1 , h_0\n2 , h_1\n3 , h_2\n4 , h_1\n"),
        "fatal",
        ["exemplars.txt"],
        "twice",
    )
    He(
        "split list: a name with no files",
        put("exemplars.txt", b"1 , h_0\n2 , h_1\n3 , h_2\n4 , ghost\n"),
        "sample",
        ["images/ghost.jpg"],
        "not found",
        bad=(),
    )
    He(
        "split list: binary garbage",
        put("exemplars.txt", np.random.default_rng(8).bytes(64)),
        "fatal",
        ["exemplars.txt"],
        "line|not|empty|decode",
    )
    He("images/ folder missing", rm("images"), "fatal", ["images"], "not found")
    He("labels/ folder missing", rm("labels"), "fatal", ["labels"], "not found")

    # -- CelebAMask-HQ, prepared ----------------------------------------------------------------
    clbl, cimg = "prep/labels/1.png", "raw/CelebA-HQ-img/1.jpg"
    clab = T["celebamask-hq"]["1"]

    def C(name, mutate, expect, paths=(), words="", bad=("1",), **kw):  # noqa: N802
        cases.append(DataCase("celebamask-hq", name, mutate, expect, tuple(paths), words, tuple(bad), **kw))

    C("label: zero bytes", put(clbl, b""), "sample", [clbl], "empty")
    C("label: truncated by half", cut(clbl, 0.5), "sample", [clbl], unreadable, loader=True)
    C("label: a text file", text(clbl, "x"), "sample", [clbl], "not a readable")
    C("label: colour (RGB) map", put(clbl, _encode(_image_for(clab), "PNG")), "sample", [clbl], "mode RGB")
    C(
        "label: JPEG-compressed named .png",
        put(clbl, _encode(clab, "JPEG", quality=95)),
        "sample",
        [clbl],
        "JPEG|lossy",
    )
    for value in (19, 20, 200):
        bad_lab = clab.copy()
        bad_lab[3, 3] = value
        C(
            f"label: one pixel with id {value} (0..18)",
            put(clbl, _encode(bad_lab, "PNG")),
            "sample",
            [clbl],
            "label ids",
        )
    cignore = clab.copy()
    cignore[-4:, :] = 255
    C(
        "label: 255 (= ignore) pixels (acceptable)",
        put(clbl, _encode(cignore, "PNG")),
        "ok",
        truth={"1": cignore},
    )
    C(
        "label: one row short (no integer ratio)",
        put(clbl, _encode(clab[:-1], "PNG")),
        "sample",
        [clbl],
        r"\d+x\d+",
    )
    C("label: decompression bomb header", put(clbl, bomb_png()), "sample", [clbl], "too large")
    C("label: missing", rm(clbl), "sample", [clbl], "not found")
    C(
        "image: 1.5x the label (no integer ratio)",
        put(cimg, _encode(np.zeros((36, 48, 3), np.uint8), "JPEG")),
        "sample",
        [clbl],
        r"\d+x\d+",
    )
    C(
        "image: same size as the label (acceptable: ratio 1)",
        put(cimg, _encode(_image_for(clab), "PNG")),
        "ok",
        images={"1": _image_for(clab)},
    )
    C("image: 3x the label (acceptable: ratio 3)", put(cimg, _encode(_image_for(clab, 3), "PNG")), "ok")
    C("image: missing", rm(cimg), "sample", [cimg], "not found")
    C("image: zero bytes", put(cimg, b""), "sample", [cimg], "empty")
    C("image: truncated by half", cut(cimg, 0.5), "sample", [cimg], unreadable)
    C(
        "fpliif-prepared.json missing",
        rm("prep/fpliif-prepared.json"),
        "fatal",
        ["prep/fpliif-prepared.json"],
        "not found",
    )
    C(
        "fpliif-prepared.json truncated",
        cut("prep/fpliif-prepared.json", 0.5),
        "fatal",
        ["prep/fpliif-prepared.json"],
        "JSON",
    )
    C(
        "fpliif-prepared.json without raw_root",
        text("prep/fpliif-prepared.json", '{"dataset": "celebamask-hq"}'),
        "fatal",
        ["prep/fpliif-prepared.json"],
        "raw_root",
    )
    C(
        "fpliif-prepared.json not an object",
        text("prep/fpliif-prepared.json", "[1, 2]"),
        "fatal",
        ["prep/fpliif-prepared.json"],
        "object|raw_root",
    )
    C("raw folder moved away", mv("raw", "raw-moved"), "fatal", ["raw/CelebA-HQ-img"], "not found")
    C("split list missing", rm("prep/train.txt"), "fatal", ["prep/train.txt"], "not found")
    C(
        "split list: a non-number line",
        put("prep/train.txt", b"0\nfoo\n2\n"),
        "fatal",
        ["prep/train.txt"],
        "line 2",
    )
    C(
        "split list: an index listed twice",
        put("prep/train.txt", b"0\n1\n2\n1\n"),
        "fatal",
        ["prep/train.txt"],
        "twice",
    )
    C(
        "split list: an index with no files",
        put("prep/train.txt", b"0\n1\n2\n77\n"),
        "sample",
        ["raw/CelebA-HQ-img/77.jpg"],
        "not found",
        bad=(),
    )

    # -- CelebAMask-HQ distribution, through `prepare` ------------------------------------------
    mask = "CelebAMask-HQ-mask-anno/0/00001_skin.png"
    rimg = "CelebA-HQ-img/1.jpg"
    mapping = "CelebA-HQ-to-CelebA-mapping.txt"

    def R(name, mutate, expect, paths=(), words="", bad=("1",), **kw):  # noqa: N802
        cases.append(DataCase("celebamask-raw", name, mutate, expect, tuple(paths), words, tuple(bad), **kw))

    R("part mask: truncated by half", cut(mask, 0.5), "sample", [mask], unreadable)
    R("part mask: zero bytes", put(mask, b""), "sample", [mask], "empty")
    R("part mask: a text file", text(mask, "no"), "sample", [mask], "not a readable")
    R(
        "part mask: another size",
        put(mask, _encode(np.zeros((12, 16), np.uint8), "PNG")),
        "sample",
        [mask],
        "differ in size",
    )
    R(
        "part mask: an unknown part name",
        put("CelebAMask-HQ-mask-anno/0/00001_tail.png", _encode(np.zeros((H, W), np.uint8), "PNG")),
        "sample",
        ["CelebAMask-HQ-mask-anno/0/00001_tail.png"],
        "unknown part",
    )
    R(
        "part masks: none for an image",
        seq(*[rm(f"CelebAMask-HQ-mask-anno/0/00001_{p}.png") for p in (*_RAW_PARTS, "l_brow")]),
        "sample",
        [rimg],
        "no part masks",
    )
    R(
        "part masks: of an image not in the mapping",
        put("CelebAMask-HQ-mask-anno/0/00009_skin.png", _encode(np.zeros((H, W), np.uint8), "PNG")),
        "sample",
        ["CelebAMask-HQ-mask-anno/0/00009_skin.png"],
        "lacks",
        bad=(),
    )
    R("image: missing", rm(rimg), "sample", [rimg], "not found")
    R(
        "image: not a multiple of the masks' size",
        put(rimg, _encode(np.zeros((49, 64, 3), np.uint8), "JPEG")),
        "sample",
        [rimg],
        r"\d+x\d+",
    )
    R("image: zero bytes", put(rimg, b""), "sample", [rimg], "empty")
    R(
        "image: not in the mapping",
        put("CelebA-HQ-img/9.jpg", _encode(np.zeros((48, 64, 3), np.uint8), "JPEG")),
        "sample",
        ["CelebA-HQ-img/9.jpg"],
        "not listed",
        bad=(),
    )
    R("mapping file missing", rm(mapping), "fatal", [mapping], "not found")
    R(
        "mapping file: an image listed twice",
        _bytes_op(mapping, lambda b: b + b"1 100 000101.jpg\n"),
        "fatal",
        [mapping],
        "twice",
    )
    R(
        "mapping file: a malformed line",
        _bytes_op(mapping, lambda b: b + b"7 x\n"),
        "fatal",
        [mapping],
        "line",
    )
    return cases


_BUILDERS: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], str, str]] = {
    # layout: (builder, dataset name for build_dataset, dataset folder inside the tree)
    "lapa": (build_lapa, "lapa", ""),
    "helen": (build_helen, "helen", ""),
    "celebamask-hq": (build_celebamask, "celebamask-hq", "prep"),
    "celebamask-raw": (build_celebamask_raw, "celebamask-hq", "out"),
}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _names_path(exc: Any, root: Path, paths: tuple[str, ...]) -> bool:
    got = Path(str(getattr(exc, "path", "")))
    return any(got == (root / p if p else root) for p in paths)


def _problem_ok(exc: Any, words: str) -> bool:
    problem = str(getattr(exc, "problem", "") or "")
    return bool(problem.strip()) and (not words or re.search(words, problem, re.IGNORECASE) is not None)


def _read_all(ds: Any, truth: dict[str, np.ndarray], images: dict[str, np.ndarray] | None):
    """Read every sample: ({name: DataError}, [names whose label/image is wrong])."""
    from .errors import DataError

    errors, wrong = {}, []
    for i, name in enumerate(ds.names):
        try:
            item = ds[i]
        except DataError as exc:
            errors[name] = exc
            continue
        label = item["label"].numpy()
        if name not in truth or label.shape != truth[name].shape or not (label == truth[name]).all():
            wrong.append(f"{name}: label differs from the original")
        if images and name in images:
            got = (item["image"].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
            if got.shape != images[name].shape or np.abs(got.astype(int) - images[name]).max() > 0:
                wrong.append(f"{name}: image differs from the original")
    return errors, wrong


def _run_data_case(case: DataCase, tree: Path, work: Path, truth: dict[str, np.ndarray]) -> tuple[bool, str]:
    """Damage a copy of ``tree`` and check both modes; (passed, what happened)."""
    from torch.utils.data import DataLoader, Subset

    from .data import build_dataset
    from .data.celebamask import prepare
    from .errors import DataError

    root = work / "tree"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(tree, root, symlinks=True)
    if case.layout == "celebamask-hq":
        _celeb_meta(root)
    case.mutate(root)
    truth = {**truth, **(case.truth or {})}
    _, dataset, sub = _BUILDERS[case.layout]
    ds_root = root / sub
    raw = case.layout == "celebamask-raw"

    def build(skip: bool, report: Path | None = None):
        if raw:
            out = root / "out"
            shutil.rmtree(out, ignore_errors=True)
            result = prepare(root, out, workers=1, skip_bad=skip, progress=False)
            ds = build_dataset(dataset, out, "train", image_size=None)
            if report is not None:
                shutil.copyfile(out / "prepare-report.json", report)
            ds.skipped = list(result.skipped)
            return ds
        return build_dataset(dataset, ds_root, "train", image_size=None, skip_bad=skip, report=report)

    def named(exc: Exception) -> bool:
        return _names_path(exc, root, case.paths) and _problem_ok(exc, case.words)

    notes: list[str] = []
    # default mode: an error naming the file, at construction or when the sample is read
    try:
        ds = build(False)
    except DataError as exc:
        default = "build-error"
        first = exc
    except Exception as exc:  # noqa: BLE001
        return False, f"default mode crashed: {type(exc).__name__}: {_short(exc)}"
    else:
        default = "read"
        errors, wrong = _read_all(ds, truth, case.images)
        if wrong:
            return False, "SILENTLY WRONG: " + "; ".join(wrong)
        first = next(iter(errors.values()), None)

    def sample_ok() -> tuple[bool, str]:
        if default == "build-error":
            return named(first), f"build: {_short(first)}"
        if set(errors) != set(case.bad) or not case.bad:
            return False, f"errors for {sorted(errors)}, expected for {list(case.bad)}"
        bad = [e for e in errors.values() if not named(e)]
        if bad:
            return False, f"error does not name {case.paths} / match {case.words!r}: {_short(bad[0])}"
        return True, f"read: {_short(first)}"

    if case.expect == "fatal":
        if default != "build-error" or not named(first):
            return False, f"expected a DataError naming {case.paths}, got {default}: {_short(first)}"
        try:
            build(True)
        except DataError as exc:
            if not named(exc):
                return False, f"skip_bad: error does not name {case.paths}: {_short(exc)}"
        except Exception as exc:  # noqa: BLE001
            return False, f"skip_bad crashed: {type(exc).__name__}: {_short(exc)}"
        else:
            return False, "skip_bad built a dataset from a broken tree"
        return True, f"both modes: {_short(first)}"

    if case.expect in ("ok", "either") and default == "read" and not errors:
        if set(ds.names) != set(truth):
            return False, f"read {sorted(ds.names)}, expected {sorted(truth)}"
        return True, "reads, every label exact" + (" (and the image)" if case.images else "")
    if case.expect == "ok":
        return False, f"expected to read: {default}: {_short(first)}"

    ok, detail = sample_ok()
    if not ok:
        return False, detail
    notes.append(detail)
    if case.loader and default == "read":  # the same error from inside a DataLoader worker process
        index = ds.names.index(case.bad[0])
        batches = iter(DataLoader(Subset(ds, [index]), batch_size=None, num_workers=1))
        try:
            next(batches)
        except DataError as exc:
            if not named(exc) or "worker" not in exc.problem:
                return False, f"DataLoader worker: {_short(exc)}"
            notes.append("DataLoader worker: same error")
        except Exception as exc:  # noqa: BLE001
            return False, f"DataLoader worker crashed: {type(exc).__name__}: {_short(exc)}"
        else:
            return False, "DataLoader worker read the bad sample"
        finally:
            batches._shutdown_workers()  # type: ignore[attr-defined]  # now, not in 5 s from __del__

    # skip_bad: the bad sample is skipped, listed, reported; the others keep their exact labels
    report = work / "report.json"
    report.unlink(missing_ok=True)
    try:
        ds = build(True, report)
    except Exception as exc:  # noqa: BLE001
        return False, f"skip_bad failed: {type(exc).__name__}: {_short(exc)}"
    expected_names = set(truth) - set(case.bad)
    if set(ds.names) != expected_names:
        return False, f"skip_bad kept {sorted(ds.names)}, expected {sorted(expected_names)}"
    listed = {Path(f) for f, _ in ds.skipped}
    if not any((root / p if p else root) in listed for p in case.paths):
        return False, f"skip_bad: {case.paths} not in .skipped {sorted(map(str, listed))}"
    try:
        reported = json.loads(report.read_text())["skipped"]
    except (OSError, ValueError, KeyError) as exc:
        return False, f"skip_bad: no report: {exc}"
    if sorted((s["file"], s["reason"]) for s in reported) != sorted((str(f), r) for f, r in ds.skipped):
        return False, "skip_bad: the report differs from .skipped"
    errors, wrong = _read_all(ds, truth, None)
    if errors or wrong:
        return False, f"skip_bad: remaining samples: errors {sorted(errors)}, wrong {wrong}"
    notes.append(f"skip_bad: skipped {len(ds.skipped)}, reported, {len(ds)} others exact")
    return True, "; ".join(notes)


def run_data(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    trees, truths = {}, {}
    for layout, (builder, _, _) in _BUILDERS.items():
        trees[layout] = work / "templates" / layout
        truths[layout] = builder(trees[layout])
    cases = data_cases(truths)
    per_layout: dict[str, int] = {}
    for i, case in enumerate(cases):
        per_layout[case.layout] = per_layout.get(case.layout, 0) + 1
        label = f"{case.layout}: {case.name}"
        if case.needs_non_root and _is_root():
            fam.na(label, "running as root, for whom chmod 000 does not stop reading; not counted")
            continue
        try:
            case_dir = work / f"case{i:03d}"
            ok, detail = _run_data_case(case, trees[case.layout], case_dir, truths[case.layout])
            detail = detail.replace(str(case_dir / "tree"), "<tree>")
        except Exception as exc:  # noqa: BLE001 - a crash of the harness is a failed case, not a crash
            ok, detail = False, f"harness error {type(exc).__name__}: {_short(exc)}"
        fam.add(label, ok, detail)
        shutil.rmtree(work / f"case{i:03d}", ignore_errors=True)
    fam.evidence.append(
        "cases per layout: "
        + ", ".join(f"{k} {v}" for k, v in per_layout.items())
        + f"; {sum(c.loader for c in cases)} also read through a DataLoader worker process"
    )
    fam.evidence.append(
        "every other sample of every case was read and compared with its original label map: "
        f"{sum('SILENTLY WRONG' in c.detail for c in fam.cases)} silently wrong labels"
    )


# == checkpoints: untrusted files ================================================================
class _Reduce:
    """Pickles as a call of ``fn(*args)``: what a malicious checkpoint carries."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker: Path) -> dict[str, tuple[Callable[[Path, dict], None], str]]:
    """name -> (writer(path, good_checkpoint_dict), what it would run). Each would create ``marker``."""
    import builtins

    import torch

    m = str(marker)
    code = f"open({m!r}, 'w').close()"

    def save_with(where: str, payload: Any, **kw: Any) -> Callable[[Path, dict], None]:
        def write(path: Path, good: dict) -> None:
            ckpt = dict(good)
            if where == "top":
                ckpt["model"] = payload
            elif where == "state":
                ckpt["model"] = {**good["model"], "encoder.extra": payload}
            elif where == "metadata":
                ckpt["train_config"] = {"data": {"note": payload}}
            elif where == "optimizer":
                ckpt["optimizer"] = {"state": {0: {"exp_avg": payload}}, "param_groups": []}
            elif where == "metrics":
                ckpt["metrics"] = {"val": [1.0, {"deep": [payload]}]}
            torch.save(ckpt, path, **kw)

        return write

    def raw_pickle(path: Path, good: dict) -> None:
        import pickle

        path.write_bytes(
            pickle.dumps({"format": "fpliif-checkpoint", "model": _Reduce(os.system, f"touch {m}")})
        )

    def forged_zip(path: Path, good: dict) -> None:
        import zipfile

        torch.save({"format": "fpliif-checkpoint", "x": 1}, path)
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        name = next(n for n in members if n.endswith("data.pkl"))
        members[name] = f"cos\nsystem\n(S'touch {m}'\ntR.".encode()  # protocol 0, by hand
        with zipfile.ZipFile(path, "w") as z:
            for n, data in members.items():
                z.writestr(n, data)

    return {
        "os.system in place of the weights": (
            save_with("top", _Reduce(os.system, f"touch {m}")),
            "os.system",
        ),
        "builtins.exec nested in the state dict": (save_with("state", _Reduce(builtins.exec, code)), "exec"),
        "builtins.eval in the metadata (train_config)": (
            save_with("metadata", _Reduce(builtins.eval, f"__import__('os').system('touch {m}')")),
            "eval",
        ),
        "subprocess.run in the optimizer state": (
            save_with("optimizer", _Reduce(subprocess.run, ["touch", m])),
            "subprocess.run",
        ),
        "builtins.open deep in the metrics": (save_with("metrics", _Reduce(builtins.open, m, "w")), "open"),
        "os.system, legacy (non-zip) torch format": (
            save_with("top", _Reduce(os.system, f"touch {m}"), _use_new_zipfile_serialization=False),
            "os.system",
        ),
        "os.system, a bare pickle file named .pt": (raw_pickle, "os.system"),
        "os.system, hand-written pickle inside a real checkpoint zip": (forged_zip, "os.system"),
    }


def run_checkpoints(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    import torch

    from .engine.checkpoint import atomic_save, make_checkpoint
    from .errors import CheckpointError
    from .models import build_model

    work.mkdir(parents=True, exist_ok=True)
    tree = work / "lapa"
    build_lapa(tree)
    image = tree / "test" / "images" / "test_0.jpg"
    torch.manual_seed(seed)
    tiny11 = build_model("fpliif-tiny", num_classes=11)
    data_cfg = {"data": {"name": "lapa", "root": str(tree), "image_size": 32}}

    def checkpoint(model: Any, name: str = "fpliif-tiny", **extra: Any) -> dict:
        return make_checkpoint(model, model_name=name, class_names=None, train_config=data_cfg, **extra)

    good = checkpoint(tiny11, dataset="lapa")
    good_path = work / "good.pt"
    atomic_save(good, good_path)

    def via_predict(path: Path) -> tuple[int, str]:
        rc, _, err = _cli(["predict", str(image), "--checkpoint", str(path), "--out", str(work / "pred")])
        return rc, err

    rc, err = via_predict(good_path)
    fam.add("control: a good checkpoint predicts", rc == 0, _short(err) or "exit 0")

    # pickle payloads: refused without running; a control then shows that each payload is live
    refused: list[tuple[str, Path, Path, str, bool, str]] = []
    for i, name in enumerate(_payloads(work / "m")):
        marker = work / f"marker{i}"
        write, runs = _payloads(marker)[name]
        path = work / f"evil{i}.pt"
        write(path, good)
        rc, err = via_predict(path)
        ok, line = _one_line_error(rc, err, "predict")
        ok = ok and str(path) in line and "refused" in line
        refused.append((name, path, marker, line, ok, marker.exists(), runs))
    marker_seen = any(ran for *_, ran, _ in refused)
    live = _payloads_are_live([(p, m) for _, p, m, *_ in refused])
    for (name, _, _, line, ok, ran, runs), is_live in zip(refused, live, strict=True):
        fam.add(
            f"pickle payload: {name}",
            ok and not ran and is_live,
            f"{line}; marker created: {ran}; control (the same file loaded with weights_only=False in a "
            f"child process): {'payload live (' + runs + ')' if is_live else 'did NOT run'}",
        )

    whole = work / "whole-model.pt"
    torch.save({"format": "fpliif-checkpoint", "model_name": "fpliif-tiny", "model": tiny11}, whole)
    # corrupt and foreign files
    blob = good_path.read_bytes()
    rng = np.random.default_rng(seed)
    others: list[tuple[str, Callable[[Path], None], str]] = [
        ("a whole pickled nn.Module (needs code to load)", lambda p: shutil.copyfile(whole, p), "refused"),
        ("empty file", lambda p: p.write_bytes(b""), "unreadable"),
        ("truncated to 100 bytes", lambda p: p.write_bytes(blob[:100]), "unreadable"),
        ("truncated to half", lambda p: p.write_bytes(blob[: len(blob) // 2]), "unreadable"),
        ("last byte missing", lambda p: p.write_bytes(blob[:-1]), "unreadable"),
        ("random bytes", lambda p: p.write_bytes(rng.bytes(4096)), "unreadable|refused"),
        ("a text file", lambda p: p.write_text("model weights go here\n"), "unreadable|refused"),
        ("a plain state_dict", lambda p: torch.save(tiny11.state_dict(), p), "not an fpliif checkpoint"),
        (
            "another format marker",
            lambda p: torch.save({**good, "format": "other"}, p),
            "not an fpliif checkpoint",
        ),
        ("a newer format version", lambda p: torch.save({**good, "version": 99}, p), "newer fpliif"),
        (
            "no weights",
            lambda p: torch.save({k: v for k, v in good.items() if k != "model"}, p),
            "lacks 'model'",
        ),
        (
            "an unknown model name",
            lambda p: torch.save({**good, "model_name": "resnet-9000"}, p),
            "cannot rebuild",
        ),
        (
            "an unknown model option",
            lambda p: torch.save({**good, "model_config": {**good["model_config"], "wings": 2}}, p),
            "cannot rebuild",
        ),
        (
            "tiny weights declared as the full fpliif model",
            lambda p: torch.save(
                {**good, "model_name": "fpliif", "model_config": build_model("fpliif").config.to_dict()}, p
            ),
            "do not fit",
        ),
        (
            "19-class weights declared as 11 classes",
            lambda p: torch.save(
                {**good, "model": build_model("fpliif-tiny", num_classes=19).state_dict()}, p
            ),
            "do not fit",
        ),
        (
            "a weight of the wrong shape",
            lambda p: torch.save(
                {**good, "model": {k: (v[:1] if v.ndim else v) for k, v in good["model"].items()}}, p
            ),
            "do not fit",
        ),
        ("a folder", lambda p: p.mkdir(), "does not exist|not a file|unreadable"),
        ("a missing file", lambda p: None, "does not exist"),
    ]
    for i, (name, write, words) in enumerate(others):
        path = work / f"bad{i}.pt"
        write(path)
        rc, err = via_predict(path)
        ok, line = _one_line_error(rc, err, "predict")
        named = str(path) in line and re.search(words, line) is not None
        fam.add(f"corrupt/foreign: {name}", ok and named, line)

    # a checkpoint for another label set, with data of 11 classes
    c19 = work / "c19.pt"
    atomic_save(checkpoint(build_model("fpliif-tiny", num_classes=19), dataset="celebamask-hq"), c19)
    rc, _, err = _cli(
        [
            "eval",
            "--checkpoint",
            str(c19),
            "--data",
            "lapa",
            "--root",
            str(tree),
            "--split",
            "train",
            "--sizes",
            "32",
            "--score-size",
            "32",
            "--out",
            str(work / "ev19"),
        ]
    )
    ok, line = _one_line_error(rc, err, "eval")
    fam.add(
        "19-class checkpoint evaluated on 11-class data (fpliif eval)",
        ok and "predicts 19 classes but the data has 11" in line and str(c19) in line,
        line,
    )
    from .engine.config import load_config

    run = work / "resume19"
    run.mkdir()
    sets = ["data.name=lapa", "data.image_size=32", f"data.root={tree}", f"run.out={run}"]
    saved = load_config("smoke", sets).to_dict()  # the run's own config: only the classes differ
    atomic_save(
        make_checkpoint(
            build_model("fpliif-tiny", num_classes=19),
            model_name="fpliif-tiny",
            train_config=saved,
            optimizer={},
            scheduler={},
            epoch=1,
            step=1,
            best_mean_f1=0.0,
        ),
        run / "last.pt",
    )
    rc, _, err = _cli(
        ["train", "--config", "smoke", *(x for s in sets for x in ("-o", s)), "--resume", "--no-progress"]
    )
    ok, line = _one_line_error(rc, err, "train")
    fam.add(
        "19-class last.pt resumed on 11-class data (fpliif train --resume)",
        ok and "predicts 19 classes but the data has 11" in line and "last.pt" in line,
        line,
    )
    evil_run = work / "resume-evil"
    evil_run.mkdir()
    _payloads(work / "marker")["os.system in place of the weights"][0](evil_run / "last.pt", good)
    rc, _, err = _cli(
        [
            "train",
            "--config",
            "smoke",
            "-o",
            "data.name=lapa",
            "--data-root",
            str(tree),
            "--out",
            str(evil_run),
            "--resume",
            "--no-progress",
        ]
    )
    ok, line = _one_line_error(rc, err, "train")
    fam.add(
        "a payload in last.pt, resumed (fpliif train --resume)",
        ok and "refused" in line and not (work / "marker").exists(),
        f"{line}; marker created: {(work / 'marker').exists()}",
    )
    try:  # the library call too
        from .engine.checkpoint import load_model

        load_model(evil_run / "last.pt")
        fam.add("a payload through the library (load_model)", False, "loaded")
    except CheckpointError as exc:
        fam.add("a payload through the library (load_model)", not (work / "marker").exists(), _short(exc))
    fam.evidence.append(
        f"marker file created by any refused load: {'YES' if marker_seen else 'no'}; each payload "
        "was then shown "
        "to be live by loading the same file with weights_only=False in a child process (which did create it)"
    )


def _payloads_are_live(files: list[tuple[Path, Path]]) -> list[bool]:
    """Control: load each file unsafely in one child process; live if its marker then appears."""
    code = (
        "import sys, torch\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n        torch.load(path, weights_only=False)\n    except Exception:\n        pass\n"
    )
    for _, marker in files:
        marker.unlink(missing_ok=True)
    subprocess.run(
        [_python(), "-c", code, *(str(p) for p, _ in files)],
        capture_output=True,
        timeout=300,
        env=_child_env(),
    )
    time.sleep(0.2)  # subprocess.run payloads have finished; os.system ones ran synchronously
    live = [m.exists() for _, m in files]
    for _, marker in files:
        marker.unlink(missing_ok=True)
    return live


# == predict: odd image files ====================================================================
def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _exif(orientation: int, fmt: str) -> Callable[[Path], np.ndarray]:
    """An image stored 40 wide x 20 high with an EXIF orientation; returns the upright pixels."""

    def write(path: Path) -> np.ndarray:
        from PIL import Image

        stored = _rgb(20, 40, orientation)
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(path, format=fmt, exif=exif.tobytes())
        turn = {3: 2, 6: -1, 8: 1}[orientation]  # quarter turns counter-clockwise that make it upright
        return np.rot90(stored, turn).copy()

    return write


def _frames(fmt: str) -> Callable[[Path], np.ndarray]:
    def write(path: Path) -> np.ndarray:
        from PIL import Image

        frames = [Image.fromarray(_rgb(30, 30, s)) for s in range(3)]
        if fmt == "GIF":
            frames = [f.convert("P") for f in frames]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB")) if fmt == "GIF" else _rgb(30, 30, 0)

    return write


def _saved(array: Any, fmt: str | None = None, expect: Any = "same", **options: Any) -> Callable[[Path], Any]:
    """Write ``array`` (or a PIL image); expect: the upright RGB it must decode to, "same" (= array),
    or None (lossy: only the size is checked)."""

    def write(path: Path) -> Any:
        from PIL import Image

        img = Image.fromarray(array) if isinstance(array, np.ndarray) else array
        img.save(path, format=fmt, **options)
        return array if isinstance(expect, str) else expect

    return write


def predict_cases() -> tuple[
    dict[str, tuple[Callable[[Path], Any], tuple[int, int]]], dict[str, tuple[Callable[[Path], None], str]]
]:  # noqa: E501
    """(good, bad): name -> (writer, output (H, W)) and name -> (writer, message fragment)."""
    from PIL import Image

    grey16 = (np.arange(64 * 48, dtype=np.uint16) * 20).reshape(64, 48)
    rgba = np.dstack([_rgb(20, 30), np.random.default_rng(3).integers(0, 256, (20, 30), dtype=np.uint8)])
    a = rgba[..., 3:].astype(np.float64) / 255
    over_white = np.round(rgba[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
    floats = np.random.default_rng(0).random((12, 14), dtype=np.float32)
    palette = Image.fromarray(_rgb(24, 36)).convert("P")
    good: dict[str, tuple[Callable[[Path], Any], tuple[int, int]]] = {
        "one_pixel.png": (_saved(_rgb(1, 1)), (1, 1)),
        "two_by_two.png": (_saved(_rgb(2, 2)), (2, 2)),
        "wide_50x10000.jpg": (_saved(_rgb(50, 10000), expect=None), (50, 10000)),
        "tall_10000x50.png": (_saved(_rgb(10000, 50)), (10000, 50)),
        "grey16.png": (
            _saved(
                grey16, expect=np.repeat(((grey16 / 65535 * 255) + 0.5).astype(np.uint8)[..., None], 3, 2)
            ),
            (64, 48),
        ),
        "grey8.jpg": (_saved(_rgb(33, 21)[..., 0], expect=None), (33, 21)),
        "cmyk.jpg": (_saved(Image.fromarray(_rgb(40, 30)).convert("CMYK"), expect=None), (40, 30)),
        "palette.png": (_saved(palette, expect=np.asarray(palette.convert("RGB"))), (24, 36)),
        "palette_transparent.png": (_saved(palette, expect=None, transparency=0), (24, 36)),
        "rgba.png": (_saved(Image.fromarray(rgba), expect=over_white), (20, 30)),
        "grey_alpha.png": (
            _saved(Image.fromarray(_rgb(20, 30)[..., :2].copy(), "LA"), expect=None),
            (20, 30),
        ),
        "bilevel.png": (_saved(Image.fromarray(_rgb(17, 19)).convert("1"), expect=None), (17, 19)),
        "animated.gif": (_frames("GIF"), (30, 30)),
        "animated.png": (_frames("PNG"), (30, 30)),
        "multipage.tiff": (_frames("TIFF"), (30, 30)),
        "exif_rotate90.jpg": (lambda p: (_exif(6, "JPEG")(p), None)[1], (40, 20)),
        "exif_rotate90.png": (_exif(6, "PNG"), (40, 20)),
        "exif_rotate180.png": (_exif(3, "PNG"), (20, 40)),
        "exif_rotate270.png": (_exif(8, "PNG"), (40, 20)),
        "float.tiff": (
            _saved(floats, expect=np.repeat((floats * 255 + 0.5).astype(np.uint8)[..., None], 3, 2)),
            (12, 14),
        ),
        "int32.tiff": (
            _saved((np.arange(12 * 14, dtype=np.int32) * 300).reshape(12, 14), expect=None),
            (12, 14),
        ),
        "image.webp": (_saved(_rgb(26, 18), lossless=True), (26, 18)),
        "image.bmp": (_saved(_rgb(26, 18)), (26, 18)),
        "image.tga": (_saved(_rgb(26, 18)), (26, 18)),
        "progressive.jpg": (_saved(_rgb(26, 18), expect=None, progressive=True), (26, 18)),
        "interlaced.png": (_saved(_rgb(26, 18), interlace=1), (26, 18)),
        "jpeg_named.png": (_saved(_rgb(22, 22), "JPEG", expect=None), (22, 22)),
        "png_named.jpg": (_saved(_rgb(22, 22), "PNG"), (22, 22)),
    }

    def truncated(fmt: str) -> Callable[[Path], None]:
        return lambda p: p.write_bytes(_encode(_rgb(64, 64), fmt)[:300])

    zero_width = b"\\x89PNG\\r\\n\\x1a\\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 0, 0, 0, 0))
    bad: dict[str, tuple[Callable[[Path], None], str]] = {
        "empty.jpg": (lambda p: p.write_bytes(b""), "empty file"),
        "text.jpg": (lambda p: p.write_text("not an image at all\\n"), "not an image"),
        "html_error_page.jpg": (lambda p: p.write_bytes(HTML), "not an image"),
        "random_bytes.png": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(500)), "not an image"),
        "truncated.jpg": (truncated("JPEG"), "truncated or corrupt"),
        "truncated.png": (truncated("PNG"), "truncated or corrupt"),
        "pdf_named.jpg": (
            lambda p: p.write_bytes(b"%PDF-1.4\\n1 0 obj << >> endobj\\n%%EOF\\n"),
            "not an image",
        ),
        "gzip_named.png": (lambda p: p.write_bytes(__import__("gzip").compress(b"pixels")), "not an image"),
        "drawing.svg": (lambda p: p.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>'), "not an image"),
        "zero_width.png": (lambda p: p.write_bytes(zero_width), "not an image|corrupt|no pixels"),
        "bomb.png": (lambda p: p.write_bytes(bomb_png()), "too large"),
        "a_folder.jpg": (lambda p: p.mkdir(), "is a folder"),
        "missing.jpg": (lambda p: None, "no such file"),
    }
    return good, bad


def run_predict(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    import torch
    from PIL import Image

    from .engine.checkpoint import atomic_save, load_model, make_checkpoint
    from .engine.predict import predict_labels, read_image
    from .models import build_model

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    ckpt_path = work / "tiny.pt"
    train_config = {"data": {"image_size": 64}}
    model = build_model("fpliif-tiny", num_classes=11)
    atomic_save(
        make_checkpoint(model, model_name="fpliif-tiny", dataset="lapa", train_config=train_config), ckpt_path
    )
    model, _ = load_model(ckpt_path)
    good, bad = predict_cases()
    for name, (write, shape) in good.items():
        path = work / "in" / name
        path.parent.mkdir(exist_ok=True)
        expected_rgb = write(path)
        out = work / "out"
        rc, _, err = _cli(["predict", str(path), "--checkpoint", str(ckpt_path), "--out", str(out)])
        if rc != 0:
            fam.add(f"odd image: {name}", False, f"exit {rc}: {_short(err)}")
            continue
        label = np.asarray(Image.open(out / f"{path.stem}_label.png"))
        overlay = np.asarray(Image.open(out / f"{path.stem}_overlay.png"))
        problems = []
        if label.shape != shape or overlay.shape != (*shape, 3):
            problems.append(f"label {label.shape}, overlay {overlay.shape}, expected {shape}")
        rgb = read_image(path)
        if expected_rgb is not None and (
            rgb.shape != expected_rgb.shape or np.abs(rgb.astype(int) - expected_rgb).max() > 1
        ):
            problems.append("decoded pixels differ from the expected upright RGB")
        elif not problems and label.size <= 1_000_000:
            again = predict_labels(model, rgb, input_size=64)
            if not np.array_equal(again, label):
                problems.append("label map differs from the model's prediction on the decoded image")
        checks = "size" + (", pixels" if expected_rgb is not None else "") + ", labels"
        fam.add(
            f"odd image: {name}",
            not problems,
            "; ".join(problems) or f"{shape[1]}x{shape[0]} output ({checks} ok)",
        )
    for name, (write, fragment) in bad.items():
        path = work / "in" / name
        write(path)
        out = work / "out-bad"
        rc, _, err = _cli(["predict", str(path), "--checkpoint", str(ckpt_path), "--out", str(out)])
        lines = [line for line in err.strip().splitlines() if line.strip()]
        message = next((line for line in lines if str(path) in line), _short(err))
        ok = rc == 2 and re.search(fragment, message) is not None and "Traceback" not in err
        written = list(out.glob(f"{path.stem}_*")) if out.is_dir() else []
        fam.add(
            f"refused file: {name}", ok and not written, message + (f"; wrote {written}" if written else "")
        )
    # a mixed batch: the good image is still written, the run exits non-zero and says how many failed
    a, b = work / "in" / "one_pixel.png", work / "in" / "empty.jpg"
    rc, _, err = _cli(
        [
            "predict",
            str(a),
            str(b),
            "--checkpoint",
            str(ckpt_path),
            "--out",
            str(work / "mixed"),
            "--size",
            "96x128",
        ]
    )
    written = (work / "mixed" / "one_pixel_label.png").is_file()
    fam.add(
        "a batch of one good and one bad file (--size 96x128)",
        rc == 2 and written and "1 of 2 image(s) failed" in err,
        f"exit {rc}; good one written: {written}; "
        f"{_short(err.strip().splitlines()[-1] if err.strip() else '')}",
    )
    fam.evidence.append(
        f"{len(good)} decodable odd images (output size checked; decoded pixels checked against the "
        "independently "
        "known upright RGB where the format is lossless; the label map re-predicted from the decoded image), "
        f"{len(bad)} files that must be refused naming the file"
    )


# == interrupted: SIGKILL and --resume ===========================================================
EPOCHS = 6
_TRAIN_SETS = (
    "optim.amp=fp32",
    "data.image_size=32",
    "optim.sample_points=256",
    "optim.lr_step=2",
    "optim.lr_gamma=0.5",
    "run.threads=1",
)
_PAUSE_ENV, _SIGNAL_ENV = "FPLIIF_ROBUSTNESS_PAUSE", "FPLIIF_ROBUSTNESS_SIGNAL"
_PAUSED_CHILD = "import sys; from fpliif.robustness import _paused_main; sys.exit(_paused_main(sys.argv[1:]))"
LOG_FIELDS = ("epoch", "step", "lr", "loss", "ce", "edge_ce", "val_mean_f1", "val_miou", "best_mean_f1")


def _paused_main(argv: list[str]) -> int:
    """``fpliif ARGV`` that, at the Nth time it opens for writing the file named in
    ``$FPLIIF_ROBUSTNESS_PAUSE`` (``last.pt:2`` and ``best.pt:1``: their temp files; ``config.yaml:1``:
    any file named like it), lets half of the bytes through (half of the earlier file's size, else
    of the first write), flushes them to disk, touches ``$FPLIIF_ROBUSTNESS_SIGNAL`` and waits to be
    killed: a SIGKILL that lands inside that write, every time, however the file is written."""
    target, nth = os.environ[_PAUSE_ENV].rsplit(":", 1)
    signal_file = Path(os.environ[_SIGNAL_ENV])
    count = 0

    def hold(f: Any, data: bytes, where: str) -> None:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
        signal_file.write_text(f"{where} {os.fstat(f.fileno()).st_size}")
        while True:
            time.sleep(1)

    import builtins

    real_open = builtins.open

    class Stall:
        """Passes writes through until half of the file is written, then holds the process."""

        def __init__(self, f: Any, earlier: int) -> None:
            self.f, self.done = f, 0
            self.threshold = earlier // 2 if earlier > 1 else None

        def write(self, data: Any) -> int:
            raw = data.encode() if isinstance(data, str) else bytes(data)
            if self.threshold is None:  # no earlier file: half of this (first) write
                self.threshold = max(1, len(raw) // 2)
            if self.done + len(raw) < self.threshold:
                self.done += len(raw)
                return self.f.write(data)
            if hasattr(self.f, "buffer"):
                self.f.flush()
            hold(getattr(self.f, "buffer", self.f), raw[: self.threshold - self.done], str(self.f.name))
            return 0

        def close(self) -> None:  # everything written before half: hold before the rename
            hold(getattr(self.f, "buffer", self.f), b"", str(self.f.name))

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.f, name)

    def targeted(name: str) -> bool:
        return "config.yaml" in name if target == "config.yaml" else name.startswith(f".{target}.tmp-")

    def fake_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        nonlocal count
        name = os.path.basename(os.fspath(file)) if isinstance(file, str | os.PathLike) else ""
        if any(c in mode for c in "wax") and targeted(name):
            count += 1
            if count == int(nth):
                final = Path(os.fspath(file)).with_name(target)  # its size before this write
                earlier = final.stat().st_size if final.is_file() else 0
                return Stall(real_open(file, mode, *a, **k), earlier)
        return real_open(file, mode, *a, **k)

    builtins.open = io.open = fake_open
    from .cli import main

    return main(argv)


def _train_argv(data: Path, out: Path, *, resume: bool = False, own_config: bool = False) -> list[str]:
    if own_config:  # what a user types after a crash: the run's saved config.yaml is used
        return ["train", "--resume", "--out", str(out), "--no-progress"]
    argv = ["train", "--config", "smoke", "--deterministic", "--data-root", str(data), "--out", str(out)]
    argv += ["--epochs", str(EPOCHS), "--no-progress", *(x for s in _TRAIN_SETS for x in ("-o", s))]
    return argv + (["--resume"] if resume else [])


@dataclass
class _Launch:
    proc: subprocess.Popen
    started: float
    started_ns: int
    log: Path
    signal: Path | None = None

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _launch(argv: list[str], log: Path, pause: str | None = None) -> _Launch:
    env = _child_env()
    sig = None
    if pause:
        sig = log.with_suffix(".paused")
        sig.unlink(missing_ok=True)
        env.update({_PAUSE_ENV: pause, _SIGNAL_ENV: str(sig)})
        cmd = [_python(), "-c", _PAUSED_CHILD, *argv]
    else:
        cmd = [_python(), "-m", "fpliif", *argv]
    with open(log, "wb") as f:
        started, started_ns = time.perf_counter(), time.time_ns()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    return _Launch(proc, started, started_ns, log, sig)


def _log_records(run: Path) -> tuple[list[dict], list[str]]:
    """(parsed records, problems) of ``run/log.jsonl``."""
    path = run / "log.jsonl"
    if not path.exists():
        return [], []
    records, problems = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            problems.append(f"log.jsonl line {number} is not JSON (a partial write): {line[:40]!r}")
    return records, problems


def _inspect_run(run: Path) -> tuple[bool, str, dict[str, int]]:
    """After a kill: does every ``*.pt`` load (weights_only=True)? (ok, description, {file: epoch})."""
    from .engine.checkpoint import load_checkpoint
    from .errors import CheckpointError

    epochs, bad = {}, []
    for p in sorted(run.glob("*.pt")):
        try:
            epochs[p.name] = int(load_checkpoint(p).get("epoch", -1))
        except CheckpointError as exc:
            bad.append(f"{p.name}: {_short(exc, 120)}")
    records, problems = _log_records(run)
    tmp = _tmp_files(run)
    parts = [", ".join(f"{k} epoch {v}" for k, v in epochs.items()) or "no checkpoint yet"]
    parts.append(f"log {len(records)} lines" + (f" + {len(problems)} partial" if problems else ""))
    if tmp:
        parts.append(f"temp files {tmp}")
    if bad:
        parts.append("UNLOADABLE " + "; ".join(bad))
    return not bad, ", ".join(parts), epochs


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(torch.equal(a, b))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


COMPARED = (
    "model",
    "optimizer",
    "scheduler",
    "epoch",
    "step",
    "best_mean_f1",
    "metrics",
    "class_names",
    "model_name",
    "model_config",
)


def state_digest(ckpt: dict) -> str:
    """sha256 of what must be identical between runs: weights, optimizer and scheduler state,
    counters and metrics (not the write time or the commit)."""
    import torch

    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            h.update(f"T{x.dtype}{tuple(x.shape)}".encode())
            h.update(
                x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                if x.numel()
                else b""
            )
        elif isinstance(x, dict):
            for k in sorted(x, key=str):
                h.update(f"K{k!r}".encode())
                feed(x[k])
        elif isinstance(x, list | tuple):
            h.update(f"L{len(x)}".encode())
            for v in x:
                feed(v)
        else:
            h.update(f"V{x!r}".encode())

    for key in COMPARED:
        h.update(key.encode())
        feed(ckpt.get(key))
    return h.hexdigest()


def _compare_checkpoint(ref: Path, got: Path) -> list[str]:
    from .engine.checkpoint import load_checkpoint

    if not got.exists():
        return [
            f"{got.name} is missing (the uninterrupted run has one, epoch {load_checkpoint(ref)['epoch']})"
        ]
    a, b = load_checkpoint(ref), load_checkpoint(got)
    diffs = [key for key in COMPARED if not _same(a.get(key), b.get(key))]
    cfg_a, cfg_b = (json.loads(json.dumps(c.get("train_config") or {})) for c in (a, b))
    for c in (cfg_a, cfg_b):
        c.get("run", {}).pop("out", None)
    if cfg_a != cfg_b:
        diffs.append("train_config")
    if diffs:
        return [f"{got.name} differs in {', '.join(diffs)} (epoch {b.get('epoch')} vs {a.get('epoch')})"]
    return []


def _compare_logs(ref: Path, got: Path) -> list[str]:
    a, _ = _log_records(ref)
    b, problems = _log_records(got)
    epochs = [r.get("epoch") for r in b]
    if epochs != list(range(1, len(a) + 1)):
        problems.append(f"epochs logged {epochs}, expected 1..{len(a)} once each")
    by_epoch = {r.get("epoch"): r for r in b}
    for r in a:
        other = by_epoch.get(r["epoch"])
        if other is not None and any(r.get(k) != other.get(k) for k in LOG_FIELDS):
            problems.append(f"epoch {r['epoch']}: metrics differ")
    return problems


def _wait_for(pred: Callable[[], bool], launch: _Launch, timeout: float) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if pred():
            return True
        if launch.proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class _Chain:
    """One run folder driven through kills and resumes, with a case per check."""

    def __init__(self, fam: Family, name: str, data: Path, run: Path, timeout: float) -> None:
        self.fam, self.name, self.data, self.run, self.timeout = fam, name, data, run, timeout
        self.launches = 0
        self.kills: list[str] = []
        run.parent.mkdir(parents=True, exist_ok=True)

    def launch(self, *, pause: str | None = None, own_config: bool = False) -> _Launch:
        resume = self.launches > 0
        self.launches += 1
        argv = _train_argv(self.data, self.run, resume=resume, own_config=own_config and resume)
        return _launch(argv, self.run.parent / f"{self.run.name}-{self.launches}.log", pause)

    def after_kill(self, how: str) -> None:
        ok, state, _ = _inspect_run(self.run)
        self.kills.append(how)
        self.fam.add(
            f"{self.name}: kill {len(self.kills)} ({how}): every checkpoint on disk loads", ok, state
        )

    def kill_paused(self, launch: _Launch, what: str) -> bool:
        assert launch.signal is not None
        if not _wait_for(launch.signal.exists, launch, self.timeout):
            launch.kill()
            self.fam.add(
                f"{self.name}: kill inside {what}", False, f"never reached: {_short(launch.output())}"
            )
            return False
        launch.kill()
        written = launch.signal.read_text().rsplit(" ", 1)[-1]
        self.after_kill(f"SIGKILL inside the write of {what}, {written} bytes of it on disk")
        return True

    def kill_timed(self, launch: _Launch, epoch: int, frac: float, epoch_s: float) -> bool:
        """SIGKILL ``frac`` of an epoch after this launch starts training epoch ``epoch``."""

        def training() -> bool:
            cfg = self.run / "config.yaml"
            started = cfg.exists() and cfg.stat().st_mtime_ns >= launch.started_ns - 50_000_000
            return started and len(_log_records(self.run)[0]) >= epoch - 1

        if not _wait_for(training, launch, self.timeout):
            self.ended_early(launch)
            return False
        time.sleep(frac * epoch_s)
        if launch.proc.poll() is not None:
            return False
        launch.kill()
        self.after_kill(f"SIGKILL {frac:.2f} of an epoch into epoch {epoch}")
        return True

    def ended_early(self, launch: _Launch) -> None:
        """The process ended before the kill point: fine if it finished, a failure otherwise."""
        rc = launch.wait(self.timeout)
        if rc != 0:
            self.fam.add(
                f"{self.name}: launch {self.launches} ran until the kill point",
                False,
                f"exit {rc}: {_short(launch.output()[-400:])}",
            )

    def kill_startup(self, launch: _Launch, seconds: float) -> bool:
        try:
            launch.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            launch.kill()
        else:
            self.ended_early(launch)
            return False
        self.after_kill(f"SIGKILL {seconds:.1f} s after start, before training")
        return True

    def finish(self, *, own_config: bool = False) -> tuple[int | None, str]:
        launch = self.launch(own_config=own_config)
        rc = launch.wait(self.timeout)
        return rc, launch.output()

    def compare(self, ref: Path, *, bugs: dict[str, str | None]) -> None:
        """Cases: last.pt, best.pt, log.jsonl and temp files against the uninterrupted ``ref``."""
        from .engine.checkpoint import load_checkpoint

        problems = _compare_checkpoint(ref / "last.pt", self.run / "last.pt")
        digest = state_digest(load_checkpoint(self.run / "last.pt")) if not problems else "-"
        self.fam.add(
            f"{self.name}: final last.pt equals the uninterrupted run's (weights, optimizer, scheduler, "
            "counters, metrics)",
            not problems,
            "; ".join(problems) or f"state digest {digest[:16]}, identical",
            bug=bugs.get("last"),
        )
        always = self.name != "A"  # A's random kills hit those windows only by chance
        problems = _compare_checkpoint(ref / "best.pt", self.run / "best.pt")
        self.fam.add(
            f"{self.name}: best.pt equals the uninterrupted run's",
            not problems,
            "; ".join(problems) or "identical",
            bug=bugs.get("best"),
            always=always,
        )
        problems = _compare_logs(ref, self.run)
        self.fam.add(
            f"{self.name}: log.jsonl holds every epoch once, metrics equal",
            not problems,
            "; ".join(problems) or f"{EPOCHS} records, equal",
            bug=bugs.get("log"),
            always=always,
        )
        tmp = _tmp_files(self.run)
        self.fam.add(
            f"{self.name}: no temp files left once the run completed",
            not tmp,
            f"left: {tmp}" if tmp else "none",
            bug=bugs.get("tmp"),
        )


def run_interrupted(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    from .data.synth import generate
    from .engine.checkpoint import load_checkpoint

    work.mkdir(parents=True, exist_ok=True)
    data = work / "synth"
    generate(data, format="lapa", n_train=8, n_val=2, n_test=2, size=32, seed=seed, workers=1)
    ref = work / "uninterrupted"
    t0 = time.perf_counter()
    launch = _launch(_train_argv(data, ref), work / "uninterrupted.log")
    rc = launch.wait(300)
    ref_s = time.perf_counter() - t0
    if rc != 0:
        fam.add("uninterrupted reference run", False, f"exit {rc}: {_short(launch.output()[-600:])}")
        return
    records, _ = _log_records(ref)
    elapsed = [r["elapsed_s"] for r in records]
    epoch_s = float(np.mean(np.diff([0.0, *elapsed])))
    startup_s = max(0.3, ref_s - elapsed[-1])  # imports, data, model: before the first epoch
    ref_digest = state_digest(load_checkpoint(ref / "last.pt"))
    fam.evidence.append(
        f"uninterrupted run: {EPOCHS} epochs of fpliif-tiny on 8 SynthFaces images at 32 px (deterministic, "
        f"fp32, 1 thread) in {ref_s:.1f} s, {epoch_s:.2f} s per epoch; last.pt state digest {ref_digest[:16]}"
    )
    timeout = max(120.0, 6 * ref_s)
    rng = np.random.default_rng([seed, 7])

    # A: kills at seeded random points (start-up, mid-epoch) and inside a last.pt write
    chain = _Chain(fam, "A", data, work / "A", timeout)
    plan: list[tuple[str, float]] = [] if quick else [("startup", float(rng.uniform(0.2, 0.8)) * startup_s)]
    plan += [("epoch", float(rng.uniform())), ("last.pt", float(rng.integers(1, 3)))]
    plan += [] if quick else [("epoch", float(rng.uniform())), ("epoch", float(rng.uniform()))]
    own = False
    for kind, value in plan:
        _, _, epochs = _inspect_run(chain.run)
        done = epochs.get("last.pt", 0)
        if done >= EPOCHS - 1:
            break
        own = own and (chain.run / "config.yaml").exists()  # what a user can resume from
        if kind == "startup":
            chain.kill_startup(chain.launch(own_config=own), value)
        elif kind == "last.pt":
            chain.kill_paused(chain.launch(pause=f"last.pt:{int(value)}", own_config=own), "last.pt")
        else:
            target = int(min(EPOCHS - 1, done + 1 + rng.integers(0, 2)))
            chain.kill_timed(chain.launch(own_config=own), target, value, epoch_s)
        own = not own  # resume alternately with the same command and with the run's own config
    rc, out = chain.finish(own_config=own and (chain.run / "config.yaml").exists())
    fam.add(
        f"A: resumed after {len(chain.kills)} kills and completed",
        rc == 0 and len(chain.kills) >= 2,
        f"exit {rc}; {chain.launches} launches; kills: {'; '.join(chain.kills)}"
        + ("" if rc == 0 else f"; {_short(out[-400:])}"),
    )
    if rc == 0:
        chain.compare(ref, bugs={})

    # B: a kill inside the first write of best.pt, i.e. after last.pt of that epoch was saved
    chain = _Chain(fam, "B", data, work / "B", timeout)
    if chain.kill_paused(chain.launch(pause="best.pt:1"), "best.pt (its first write, epoch 1)"):
        rc, out = chain.finish()
        fam.add(
            "B: resumed and completed", rc == 0, f"exit {rc}" + ("" if rc == 0 else f"; {_short(out[-400:])}")
        )
        if rc == 0:
            chain.compare(ref, bugs={})

    # C: a kill inside the first write of config.yaml, then `fpliif train --resume --out RUN`
    chain = _Chain(fam, "C", data, work / "C", timeout)
    if chain.kill_paused(chain.launch(pause="config.yaml:1"), "config.yaml (first launch)"):
        launch = chain.launch(own_config=True)
        rc = launch.wait(max(60.0, 3 * ref_s))
        out = launch.output()
        ok_err, line = _one_line_error(rc or 0, out, "train")
        what = "C: `--resume` without --config after a kill inside config.yaml: same run, or a clear error"
        if rc == 0:
            problems = _compare_checkpoint(ref / "last.pt", chain.run / "last.pt")
            fam.add(what, not problems, "; ".join(problems) or "identical to the uninterrupted run")
        elif rc is None:
            fam.add(what, False, "ran past the time limit: it trains another configuration")
        else:
            clear = ok_err and "--config" in line
            fam.add(what, clear, f"exit {rc}: {line if ok_err else _short(out[-300:])}")

    kills = [c for c in fam.cases if "every checkpoint on disk loads" in c.name]
    finals = [c for c in fam.cases if "final last.pt equals" in c.name]
    fam.evidence.append(
        f"{sum(c.passed for c in kills)} of {len(kills)} kills left only loadable checkpoints; "
        f"{sum(c.passed for c in finals)} of {len(finals)} resumed runs ended with a last.pt identical "
        "to the uninterrupted run's (state digest above)"
    )
    fam.evidence.append(
        "kill points come from the seed (start-up fraction, epoch, fraction of an epoch); where a timed "
        "kill lands (a training step, validation, a checkpoint or log write) depends on the machine's "
        "speed, so chain A's best.pt/log.jsonl cases can differ between runs; the held kills (inside "
        "last.pt, best.pt, config.yaml) land in their write every time"
    )


# == disk: a full disk and a read-only folder ====================================================
def _disk_controller(spec: dict) -> dict:
    """Runs inside ``unshare --user --map-root-user --mount`` (stdlib only: its source is sent with
    ``python -c``). Mounts a private tmpfs, starts the command, waits for the trigger file, stops
    the process (SIGSTOP), records the watched files, fills the tmpfs or remounts it read-only,
    lets the process go on and collects what happened."""
    import errno as errno_
    import hashlib as hashlib_
    import os as os_
    import shutil as shutil_
    import signal as signal_
    import subprocess as subprocess_
    import time as time_
    from pathlib import Path as Path_

    def sha(p: str) -> str | None:
        return hashlib_.sha256(Path_(p).read_bytes()).hexdigest() if os_.path.isfile(p) else None

    mnt = Path_(spec["mount"])
    r = subprocess_.run(
        ["mount", "-t", "tmpfs", "-o", f"size={spec['size']}", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if r.returncode:
        return {"error": f"mount failed: {r.stderr.strip()}"}
    for src, dst in spec.get("copy_in", []):
        shutil_.copytree(src, mnt / dst)
    if spec.get("before_start"):
        os_.makedirs(spec["folder"], exist_ok=True)
        subprocess_.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    with open(spec["log"], "wb") as log:
        proc = subprocess_.Popen(spec["argv"], stdout=log, stderr=subprocess_.PIPE, cwd=spec["cwd"])
    if spec.get("before_start"):
        try:
            _, err = proc.communicate(timeout=spec["timeout"])
        except subprocess_.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        listing = sorted(os_.listdir(spec["folder"]))
        return {
            "rc": proc.returncode,
            "stderr": err.decode(errors="replace"),
            "before": {},
            "after": {},
            "listing": listing,
            "at_fault": listing,
        }
    trigger, lines = Path_(spec["trigger"]), int(spec.get("lines", 0))
    end = time_.time() + spec["timeout"]
    while proc.poll() is None and time_.time() < end:
        if trigger.is_file() and len(trigger.read_bytes().splitlines()) >= lines:
            break
        time_.sleep(0.005)
    if proc.poll() is not None:
        return {"error": f"finished (exit {proc.returncode}) before the fault: {proc.stderr.read()[-500:]!r}"}
    os_.kill(proc.pid, signal_.SIGSTOP)
    if spec["fault"] == "enospc":
        fd = os_.open(mnt / "filler", os_.O_WRONLY | os_.O_CREAT)
        try:
            for chunk in (1 << 20, 4096, 1):
                while True:
                    os_.write(fd, b"\0" * chunk)
        except OSError as exc:
            if exc.errno != errno_.ENOSPC:
                raise
        finally:
            os_.close(fd)
        if spec.get("leave"):  # give back a little: the next write starts, then runs out
            os_.truncate(mnt / "filler", max(0, os_.path.getsize(mnt / "filler") - int(spec["leave"])))
    else:
        for _ in range(200):  # EBUSY while a file is open for writing: let it finish that first
            if subprocess_.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True).returncode == 0:
                break
            os_.kill(proc.pid, signal_.SIGCONT)
            time_.sleep(0.005)
            os_.kill(proc.pid, signal_.SIGSTOP)
        else:
            os_.kill(proc.pid, signal_.SIGKILL)
            return {"error": "could not remount read-only"}
    before = {p: sha(p) for p in spec["watch"]}  # the files as the fault found them
    fault_at = sorted(os_.listdir(spec["folder"])) if os_.path.isdir(spec["folder"]) else []
    os_.kill(proc.pid, signal_.SIGCONT)
    try:
        _, err = proc.communicate(timeout=spec["timeout"])
    except subprocess_.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    after = {p: sha(p) for p in spec["watch"]}
    for p in spec["watch"]:
        if os_.path.isfile(p):
            shutil_.copyfile(p, Path_(spec["export"]) / Path_(p).name)
    folder = spec["folder"]
    listing = sorted(os_.listdir(folder)) if os_.path.isdir(folder) else []
    return {
        "rc": proc.returncode,
        "stderr": err.decode(errors="replace"),
        "before": before,
        "after": after,
        "listing": listing,
        "at_fault": fault_at,
    }


def _namespaces_work() -> tuple[bool, str]:
    """Can this process make a user + mount namespace and mount a tmpfs in it (no real privileges)?"""
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False, "no unshare/mount command"
    with tempfile.TemporaryDirectory() as d:
        cmd = [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            d,
        ]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, str(exc)
    return r.returncode == 0, _short(r.stderr) or "ok"


def _run_in_namespace(spec: dict, work: Path) -> dict:
    import inspect

    spec_file, result_file = work / "spec.json", work / "result.json"
    spec_file.write_text(json.dumps(spec))
    result_file.unlink(missing_ok=True)
    code = (
        inspect.getsource(_disk_controller)
        + "\nimport json, sys\nfrom pathlib import Path\n"
        + "res = _disk_controller(json.loads(Path(sys.argv[1]).read_text()))\n"
        + "Path(sys.argv[2]).write_text(json.dumps(res))\n"
    )
    cmd = [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        _python(),
        "-c",
        code,
        str(spec_file),
        str(result_file),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=spec["timeout"] * 3, env=_child_env())
    if not result_file.exists():
        return {"error": f"controller failed: {_short(r.stderr[-800:])}"}
    return json.loads(result_file.read_text())


class _Fault:
    """OSError(ENOSPC/EROFS) raised as the kernel would, from inside this process (exact points)."""

    def __init__(self, code: int) -> None:
        self.code = code

    def error(self, filename: str | None = None) -> OSError:
        if filename is None:  # write() and fsync() errors carry no file name
            return OSError(self.code, os.strerror(self.code))
        return OSError(self.code, os.strerror(self.code), filename)


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _shared_synth(work: Path, seed: int) -> Path:
    from .data.synth import generate

    data = work / "synth"
    if not (data / "synthfaces.json").exists():
        generate(data, format="lapa", n_train=8, n_val=2, n_test=2, size=32, seed=seed, workers=1)
    return data


def run_disk(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:

    from .engine.checkpoint import load_checkpoint
    from .errors import CheckpointError

    work.mkdir(parents=True, exist_ok=True)
    data = _shared_synth(work.parent, seed)
    inproc = [
        "--config",
        "smoke",
        "--data-root",
        str(data),
        "--no-progress",
        "-o",
        "run.threads=0",
        *(x for s in _TRAIN_SETS if not s.startswith("run.threads") for x in ("-o", s)),
    ]
    ENOSPC, EROFS = _Fault(errno.ENOSPC), _Fault(errno.EROFS)

    def loads(path: Path) -> tuple[bool, int | None]:
        try:
            return True, int(load_checkpoint(path)["epoch"])
        except CheckpointError:
            return False, None

    # -- injected, in-process: exact points of the writes ------------------------------------------
    def train_with(name: str, make: Callable[[Callable[[], None]], Any], file: str, bug: str | None = None):
        """Train 3 epochs with a fault at one write of epoch 2; check the message and last.pt."""
        run = work / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        snapshot: dict[str, bytes] = {}

        def before_fault() -> None:
            if (run / "last.pt").exists() and "last.pt" not in snapshot:
                snapshot["last.pt"] = (run / "last.pt").read_bytes()

        with make(before_fault) as fired:
            rc, _, err = _cli(["train", *inproc, "--out", str(run), "--epochs", "3"])
        if not fired["n"]:
            fam.na(name, "the fault was never injected (no such write happened); update this case")
            return
        ok, line = _one_line_error(rc, err, "train")
        kept = snapshot.get("last.pt")
        loadable, epoch = loads(run / "last.pt")
        intact = kept is not None and (run / "last.pt").read_bytes() == kept and loadable
        tmp = _tmp_files(run)
        cause = "Read-only file system" if "read-only" in name else "No space left on device"
        fam.add(
            f"{name}: one-line error naming {file} and '{cause}'",
            ok and file in line and cause in line,
            line,
            bug=bug,
        )
        fam.add(
            f"{name}: last good checkpoint intact, no temp file",
            intact and not tmp,
            f"last.pt {'byte-identical to before the fault' if intact else 'CHANGED or unreadable'}, "
            f"loads: {loadable} (epoch {epoch}); temp files: {tmp or 'none'}",
        )

    def nth_write(prefix: str, n: int, fault: _Fault) -> Callable[[Callable[[], None]], Any]:
        return lambda hook: _failing_writes(_nth(lambda name: name.startswith(prefix), n, hook), fault)

    train_with(
        "injected: disk full writing last.pt (epoch 2)",
        nth_write(".last.pt.tmp-", 2, ENOSPC),
        "last.pt",
    )

    @contextlib.contextmanager
    def on_fsync(hook: Callable[[], None]) -> Iterator[dict]:
        real_fsync, fired = os.fsync, {"n": 0}
        match = _nth(lambda name: ".last.pt.tmp-" in name, 2, hook)

        def fsync(fd: int) -> None:
            if match(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""):
                fired["n"] += 1
                raise ENOSPC.error()
            real_fsync(fd)

        with _patched(os, "fsync", fsync):
            yield fired

    train_with("injected: disk full at fsync of last.pt (epoch 2)", on_fsync, "last.pt")

    @contextlib.contextmanager
    def on_replace(hook: Callable[[], None]) -> Iterator[dict]:
        real_replace, fired = os.replace, {"n": 0}
        match = _nth(lambda name: name == "last.pt", 2, hook)

        def replace(src: Any, dst: Any, *a: Any, **k: Any) -> None:
            if match(os.path.basename(os.fspath(dst))):
                fired["n"] += 1
                raise EROFS.error(str(src))
            real_replace(src, dst, *a, **k)

        with _patched(os, "replace", replace):
            yield fired

    train_with(
        "injected: folder turned read-only at the rename of last.pt (epoch 2)",
        on_replace,
        "last.pt",
    )
    train_with(
        "injected: disk full appending log.jsonl (epoch 2)",
        nth_write(".log.jsonl.tmp-", 2, ENOSPC),
        "log.jsonl",
    )

    # config.yaml on a full disk at a resume, then `fpliif train --resume --out RUN` (its own config)
    run = work / "config-full"
    _cli(["train", *inproc, "--out", str(run), "--epochs", "1"])
    with _failing_writes(lambda name: "config.yaml" in name, ENOSPC) as fired:
        rc, _, err = _cli(["train", *inproc, "--out", str(run), "--epochs", "2", "--resume"])
    ok, line = _one_line_error(rc, err, "train")
    if fired["n"]:
        fam.add(
            "injected: disk full writing config.yaml at a resume: one-line error naming the file",
            ok and "config.yaml" in line and "No space left" in line,
            line,
        )
        rc, _, err = _cli(["train", "--resume", "--out", str(run), "--no-progress", "-o", "run.threads=0"])
        fam.add(
            "injected: ... then `fpliif train --resume --out RUN` (its saved config) continues",
            rc == 0,
            f"exit {rc}" + ("" if rc == 0 else f": {_one_line_error(rc, err, 'train')[1]}"),
        )
    else:
        fam.na(
            "injected: disk full writing config.yaml at a resume",
            "config.yaml was not written through open()",
        )

    # evaluation: an earlier complete result set, then a full disk while the new one is written
    ckpt = run / "last.pt"
    ev_args = [
        "eval",
        "--checkpoint",
        str(ckpt),
        "--data",
        "synth",
        "--root",
        str(data),
        "--split",
        "test",
        "--sizes",
        "32",
        "--score-size",
        "32",
    ]
    for target in ("results.json", "per_image.csv"):
        out = work / f"eval-{target}"
        _cli([*ev_args, "--out", str(out)])
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".csv")}
        with _failing_writes(lambda name, t=target: t in name, ENOSPC) as fired:
            rc, _, err = _cli([*ev_args, "--out", str(out)])
        if not fired["n"]:
            fam.na(f"injected: disk full writing {target} in fpliif eval", "the write was not intercepted")
            continue
        ok, line = _one_line_error(rc, err, "eval")
        fam.add(
            f"injected: disk full writing {target} in fpliif eval: one-line error naming the file",
            ok and target in line and "No space left" in line,
            line,
        )
        after = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".csv")}
        lost = sorted(k for k in before if after.get(k) != before[k] and k != "skipped.json")
        fam.add(
            f"injected: disk full writing {target}: the earlier results are intact",
            not lost,
            f"changed/truncated: {lost}" if lost else "intact",
        )

    # -- real faults: a private tmpfs, filled up or remounted read-only under the running process --
    usable, why = _namespaces_work()
    real_cases = [
        ("real: disk fills up during training (tmpfs filled once last.pt exists)", "train", "enospc"),
        (
            "real: disk runs out inside a checkpoint write (4 KiB left once last.pt exists)",
            "train",
            "enospc-4k",
        ),
        (
            "real: output folder turns read-only during training (tmpfs remounted ro once last.pt exists)",
            "train",
            "erofs",
        ),
        ("real: output folder read-only from the start (fpliif train)", "train", "erofs-start"),
        ("real: disk fills up while fpliif eval writes its results", "eval", "enospc"),
        ("real: output folder turns read-only while fpliif eval writes its results", "eval", "erofs"),
    ]
    if quick:  # one full disk, one read-only folder in training, one in evaluation
        keep = {("train", "enospc-4k"), ("train", "erofs"), ("eval", "erofs")}
        real_cases = [c for c in real_cases if c[1:] in keep]
    if not usable:
        for name, _, _ in real_cases:
            fam.na(
                name, f"no user/mount namespaces here ({why}); the injected cases above cover these points"
            )
        return
    fam.evidence.append(
        "real faults: a private tmpfs in a user + mount namespace (`unshare --user --map-root-user "
        "--mount`, no "
        "privileges needed); the process is stopped (SIGSTOP), the tmpfs filled with zeros up to ENOSPC or "
        "remounted read-only, and the process continued (SIGCONT): the kernel returns the errors, "
        "nothing is mocked"
    )
    prior_results = work / "prior-results"  # a complete earlier result set, copied into the tmpfs
    prior_results.mkdir(exist_ok=True)
    for n in ("results.json", "metrics.csv", "per_image.csv"):
        shutil.copyfile(work / "eval-results.json" / n, prior_results / n)
    ref_ckpt = ckpt
    for name, command, fault in real_cases:
        case_dir = work / f"real-{command}-{fault}"
        export = case_dir / "export"
        export.mkdir(parents=True, exist_ok=True)
        mnt = case_dir / "mnt"
        mnt.mkdir(exist_ok=True)
        if command == "train":
            folder = mnt / "run"
            argv = [
                _python(),
                "-m",
                "fpliif",
                "train",
                *inproc,
                "--out",
                str(folder),
                "--epochs",
                str(EPOCHS),
                "-o",
                "run.threads=1",
            ]
            spec = {
                "trigger": str(folder / "last.pt"),  # renamed into place: a complete checkpoint exists
                "lines": 0,
                "copy_in": [],
                "watch": [str(folder / "last.pt"), str(folder / "best.pt")],
            }
        else:
            folder = mnt / "ev"
            argv = [
                _python(),
                "-m",
                "fpliif",
                "eval",
                "--checkpoint",
                str(ref_ckpt),
                "--data",
                "synth",
                "--root",
                str(data),
                "--split",
                "test",
                "--sizes",
                "32",
                "64",
                "128",
                "256",
                "512",
                "--score-size",
                "256",
                "--out",
                str(folder),
            ]
            spec = {
                "trigger": str(folder / "skipped.json"),
                "lines": 0,
                "copy_in": [[str(prior_results), "ev"]] if fault == "erofs" else [],
                "watch": [str(folder / n) for n in ("results.json", "metrics.csv", "per_image.csv")],
            }
        spec.update(
            mount=str(mnt),
            size="64m",
            argv=argv,
            cwd=str(case_dir),
            fault=fault[:6],
            timeout=180,
            log=str(case_dir / "stdout.log"),
            folder=str(folder),
            export=str(export),
            before_start=fault == "erofs-start",
            leave=4096 if fault == "enospc-4k" else 0,
        )
        res = _run_in_namespace(spec, case_dir)
        if "error" in res and res["error"].startswith("finished (exit 0)"):
            fam.na(name, "the command finished before the fault could be applied (timing); not counted")
            continue
        if "error" in res:
            fam.add(name, False, res["error"])
            continue
        errtext = res["stderr"]
        ok, line = _one_line_error(res["rc"], errtext, command)
        cause = "No space left on device" if fault.startswith("enospc") else "Read-only file system"
        named = str(folder) in line
        if fault == "erofs-start":
            fam.add(
                f"{name}: one-line error naming the folder's file and '{cause}', nothing written",
                ok and cause in line and named and not res["listing"],
                f"exit {res['rc']}: {line}",
            )
            continue
        fam.add(
            f"{name}: one-line error naming the file and '{cause}'",
            ok and cause in line and named,
            f"exit {res['rc']}: {line}",
        )
        if command == "train":
            last = export / "last.pt"
            loadable, epoch = loads(last) if last.exists() else (False, None)
            same = res["before"][str(folder / "last.pt")] == res["after"][str(folder / "last.pt")] is not None
            best_same = res["before"][str(folder / "best.pt")] == res["after"][str(folder / "best.pt")]
            tmp = [n for n in res["listing"] if n.startswith(".") and ".tmp" in n]
            fam.add(
                f"{name}: last good checkpoint intact and loadable, no temp file",
                same and best_same and loadable and not tmp,
                f"last.pt {'unchanged' if same else 'CHANGED'} since the fault (sha256 "
                f"{str(res['after'][str(folder / 'last.pt')])[:12]}), "
                f"loads: {loadable} (epoch {epoch}); best.pt {'unchanged' if best_same else 'CHANGED'}; "
                f"temp files: {tmp or 'none'}",
            )
            if fault == "erofs":
                fam.add(
                    f"{name}: the error names the file it could not write (not a temp file)",
                    ok and cause in line and ".tmp" not in line,
                    line,
                )
        else:
            changed = [Path(p).name for p in res["before"] if res["before"][p] != res["after"][p]]
            if fault == "erofs":
                fam.add(
                    f"{name}: the earlier results are intact",
                    not changed,
                    f"changed: {changed}"
                    if changed
                    else "results.json, metrics.csv, per_image.csv unchanged",
                )
            else:
                partial = [n for n in res["listing"] if n.endswith((".json", ".csv")) and n != "skipped.json"]
                fam.add(
                    f"{name}: no half-written result file left",
                    not partial or _complete(export, partial),
                    f"files left: {partial or 'none'}",
                )


def _complete(folder: Path, names: list[str]) -> bool:
    """Every listed result file exported and parseable (JSON) or non-empty (CSV)."""
    for n in names:
        p = folder / n
        if not p.exists() or p.stat().st_size == 0:
            return False
        if n.endswith(".json"):
            try:
                json.loads(p.read_text())
            except ValueError:
                return False
    return True


class _FullFile:
    """A file opened for writing on a full disk: the open succeeded (and truncated), writes fail."""

    def __init__(self, f: Any, fault: _Fault) -> None:
        self._f, self._fault = f, fault

    def write(self, data: Any) -> int:
        raise self._fault.error()

    def writelines(self, lines: Any) -> None:
        raise self._fault.error()

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _nth(
    match: Callable[[str], bool], n: int, hook: Callable[[], None] | None = None
) -> Callable[[str], bool]:
    """A predicate true only for the ``n``-th name that ``match`` accepts (``hook`` runs just before)."""
    seen = [0]

    def pred(name: str) -> bool:
        if not match(name):
            return False
        seen[0] += 1
        if seen[0] == n and hook:
            hook()
        return seen[0] == n

    return pred


@contextlib.contextmanager
def _failing_writes(match: Callable[[str], bool], fault: _Fault) -> Iterator[dict]:
    """Files opened for writing (``open``/``io.open``, which ``Path.write_text``, pandas and
    ``atomic_save`` use) whose name ``match`` accepts behave as on a full disk; yields {"n": how many}."""
    import builtins

    real_open, fired = builtins.open, {"n": 0}

    def fake_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        f = real_open(file, mode, *a, **k)
        writing = any(c in mode for c in "wax+")
        if writing and isinstance(file, str | os.PathLike) and match(os.path.basename(os.fspath(file))):
            fired["n"] += 1
            return _FullFile(f, fault)
        return f

    with _patched(builtins, "open", fake_open), _patched(io, "open", fake_open):
        yield fired


# == notebooks ===================================================================================
def _notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def run_notebooks(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    """A failing cell must stop the batch runner (``fpliif.pipeline.run_notebooks``, ``fpliif run``)
    with an error naming notebook and cell, keep the partly executed notebook and run nothing after."""
    import importlib
    import importlib.util

    case = "a failing cell stops the batch run (error), keeps the partial notebook, runs nothing after it"
    try:
        pipeline = importlib.import_module("fpliif.pipeline")
    except ImportError as exc:
        fam.pending = f"fpliif.pipeline is not there yet ({exc})"
        fam.na(case, fam.pending)
        return
    runner = getattr(pipeline, "run_notebooks", None)
    if not callable(runner):
        fam.pending = "fpliif.pipeline has no run_notebooks() yet"
        fam.na(case, fam.pending)
        return
    if importlib.util.find_spec("papermill") is None:
        fam.na(case, "papermill is not installed here (the notebooks extra)")
        return
    import nbformat

    from .errors import FpliifError

    work.mkdir(parents=True, exist_ok=True)
    marker = work / "after-ran"
    failing, after = work / "rb_failing.ipynb", work / "rb_after.ipynb"
    _notebook(
        failing,
        [
            'out = "unset"',
            "print('first cell ran')",
            "raise RuntimeError('robustness: this cell fails on purpose')",
            "print('must not run')",
        ],
    )
    _notebook(after, ['out = "unset"', f"open({str(marker)!r}, 'w').close()"])

    def check(out: Path, raised: BaseException | None, how: str, message: str) -> None:
        kept = out / "notebooks" / failing.name
        ran: dict[str, bool] = {}
        if kept.exists():
            for c in nbformat.read(str(kept), as_version=4).cells:
                for key in ("first cell ran", "fails on purpose", "must not run"):
                    if key in c.source and c.cell_type == "code":
                        ran[key] = bool(c.get("outputs"))
        manifest = out / "manifest.json"
        status = json.loads(manifest.read_text()).get("status") if manifest.exists() else None
        ok = (
            raised is not None
            and ran == {"first cell ran": True, "fails on purpose": True, "must not run": False}
            and not marker.exists()  # the next notebook never ran
            and "rb_failing" in message
        )
        fam.add(
            f"{case} ({how})",
            ok,
            f"{_short(message, 300)}; partial notebook kept: {kept.exists()} (cells with output: {ran}); "
            f"next notebook ran: {marker.exists()}; manifest status: {status}",
        )

    profile = work / "profile.yaml"
    out = work / "out-library"
    profile.write_text(f"out: {json.dumps(str(out))}\n")
    try:
        runner(str(profile), out=str(out), notebooks=[failing, after], log=lambda message: None)
    except Exception as exc:  # noqa: BLE001 - the runner must raise
        raised: BaseException | None = exc
    else:
        raised = None
    message = f"{type(raised).__name__}: {raised}" if raised else "no error raised"
    if raised is not None and not isinstance(raised, FpliifError):
        message += " (not an FpliifError: the command line would print a traceback)"
        raised = None
    check(out, raised, "fpliif.pipeline.run_notebooks", message)

    from .cli import COMMANDS

    if "run" not in COMMANDS or not all(hasattr(pipeline, n) for n in ("select_notebooks", "notebook_path")):
        fam.na(f"{case} (fpliif run: exit code)", "`fpliif run` is not registered in fpliif/cli.py yet")
        return
    out = work / "out-cli"
    names = {failing.stem: failing, after.stem: after}
    marker.unlink(missing_ok=True)
    with (
        _patched(pipeline, "select_notebooks", lambda only: list(names)),
        _patched(pipeline, "notebook_path", lambda name: names[name]),
    ):
        rc, _, err = _cli(["run", str(profile), "--out", str(out)])
    ok, line = _one_line_error(rc, err, "run")
    check(out, RuntimeError() if ok else None, "fpliif run: exit code and message", f"exit {rc}: {line}")


# == the suite ===================================================================================
TITLES = {
    "interrupted": (
        "Interrupted training (SIGKILL, then --resume)",
        "after every kill each `*.pt` in the run folder loads with `weights_only=True`; the resumed run "
        "ends with the same weights, optimizer and scheduler state, counters, metrics, best.pt and "
        "log.jsonl as an uninterrupted run with the same seed (deterministic CPU mode), and leaves "
        "no temp file",
    ),
    "data": (
        "Corrupted data (LaPa, Helen, CelebAMask-HQ layouts)",
        "default mode: a `DataError` whose path is the damaged file (or folder) and whose message "
        "says what is "
        "wrong, at construction, on reading, or from a DataLoader worker; `skip_bad=True`: exactly "
        "that sample is "
        "skipped, listed in `.skipped` and in the report file, and every other sample keeps exactly "
        "its original "
        "label (compared pixel by pixel). Acceptable variants (a PNG named .jpg, 16-bit, "
        "palette...) must read "
        "with the exact label. Broken folders/lists: an error naming them in both modes",
    ),
    "checkpoints": (
        "Untrusted checkpoints",
        "`fpliif predict/eval/train --resume` exit non-zero with one line naming the file and the reason; a "
        "pickle payload never runs (its marker file never appears) while the same file loaded unsafely in a "
        "child process does run it (the control)",
    ),
    "predict": (
        "Odd images for `fpliif predict`",
        "a decodable image gives label and overlay maps of the right size whose labels are the model's "
        "prediction on the correctly decoded (upright, composited, scaled) pixels; anything else "
        "exits 2 with "
        "a line naming the file and writes nothing for it",
    ),
    "disk": (
        "Full disk and read-only folder",
        "`fpliif train` / `fpliif eval` exit non-zero with one line naming the file and 'No space left on "
        "device' / 'Read-only file system'; the last good checkpoint (and earlier results) stay "
        "byte-identical "
        "and loadable; no temp file is left",
    ),
    "notebooks": (
        "Notebooks",
        "a failing cell makes the batch run stop with a non-zero exit and keeps the partly executed notebook",
    ),
}
RUNNERS: dict[str, Callable[..., None]] = {
    "interrupted": run_interrupted,
    "data": run_data,
    "checkpoints": run_checkpoints,
    "predict": run_predict,
    "disk": run_disk,
    "notebooks": run_notebooks,
}


def run_family(name: str, work: Path, *, quick: bool = False, seed: int = 0) -> Family:
    """Run one family in ``work/<name>``; a crash of the harness itself is recorded as a failed case."""
    import logging

    import torch

    title, means = TITLES[name]
    fam = Family(name, title, means)
    start = time.perf_counter()
    logging.disable(logging.WARNING)  # the skip warnings of hundreds of damaged trees
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny workloads; several threads on a busy machine spin and crawl
    try:
        with warnings.catch_warnings():  # expected by the cases: hostile pickles, bomb-sized headers
            warnings.filterwarnings("ignore", message=".*(pickle protocol|decompression bomb).*")
            RUNNERS[name](fam, work / name, quick=quick, seed=seed)
    except Exception as exc:  # noqa: BLE001
        fam.add("the family ran to its end", False, f"harness error {type(exc).__name__}: {_short(exc, 400)}")
    finally:
        logging.disable(logging.NOTSET)
        torch.set_num_threads(threads)
    fam.seconds = time.perf_counter() - start
    for case in fam.cases:
        case.detail = case.detail.replace(str(work), "<work>")
    fam.evidence = [e.replace(str(work), "<work>") for e in fam.evidence]
    return fam


def run_suite(
    *,
    families: tuple[str, ...] | list[str] = FAMILIES,
    quick: bool = False,
    seed: int = 0,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Run the families (in a temporary folder unless ``workdir``) and return every case."""
    from .provenance import git_commit, hardware, now, package_versions

    start = time.perf_counter()
    meta = {"time": now(), "commit": git_commit(), "hardware": hardware(), "versions": package_versions()}
    meta["platform"] = platform.platform()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fpliif-robustness-")))
        else:
            work = Path(workdir)
            work.mkdir(parents=True, exist_ok=True)
        done = []
        for name in families:
            fam = run_family(name, work, quick=quick, seed=seed)
            done.append(fam)
            if progress:
                progress(
                    f"{name}: {fam.tried} tried, {fam.count('pass')} passed, {len(fam.unexpected)} failed, "
                    f"{fam.count('known')} known bugs, {fam.count('n/a')} n/a ({fam.seconds:.0f} s)"
                )
    return SuiteResult(done, seed, quick, time.perf_counter() - start, meta)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_report(result: SuiteResult, command: str = "fpliif robustness") -> str:
    """The Markdown report: figures per family, what pass means, the evidence, every case."""
    m = result.meta
    hw = m.get("hardware", {})
    fams = result.families
    tried = sum(f.tried for f in fams)
    passed = sum(f.count("pass") for f in fams)
    known = sum(f.count("known") for f in fams)
    unexpected = sum(len(f.unexpected) for f in fams)
    na = sum(f.count("n/a") for f in fams)
    lines = [
        "# Robustness under faults and bad input (issue 7)",
        "",
        f"Written by `{command}` (seed {result.seed}, {'quick' if result.quick else 'full'} suite) on "
        f"{m.get('time')}, commit `{m.get('commit')}`, {hw.get('cpu')} ({hw.get('cpu_count')} cores), "
        f"Python {hw.get('python')}, torch {m.get('versions', {}).get('torch')}. "
        f"The suite took {result.seconds:.0f} s. `tests/test_robustness.py` runs the same code in CI.",
        "",
        "| family | tried | passed | failed | of which known bugs (fix proposed) | not applicable | time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in fams:
        failed = f.tried - f.count("pass")
        bugs = sorted({c.bug for c in f.cases if c.bug})
        kb = f"{f.count('known')} ({', '.join(bugs)})" if bugs else "0"
        title = f.title + (" **(pending)**" if f.pending else "")
        lines.append(
            f"| {title} | {f.tried} | {f.count('pass')} | {failed} | {kb} | {f.count('n/a')} | "
            f"{f.seconds:.0f} s |"
        )
    lines.append(
        f"| **total** | **{tried}** | **{passed}** | **{tried - passed}** | **{known}** | **{na}** | "
        f"**{result.seconds:.0f} s** |"
    )
    lines += [
        "",
        f"Unexplained failures: **{unexpected}**. Failures explained by a known bug whose fix is proposed: "
        f"**{known}** (listed at the end; they pass once the fix lands). Not applicable here: {na} "
        "(reason given).",
        "",
    ]
    for f in fams:
        lines += [f"## {f.title}", "", f"**Pass means:** {f.pass_means}.", ""]
        if f.pending:
            lines += [f"**PENDING:** {f.pending}.", ""]
        if f.evidence:
            lines += ["**Evidence (nothing lost):**", ""] + [f"- {e}" for e in f.evidence] + [""]
        lines += [
            f"<details><summary>All {len(f.cases)} cases</summary>",
            "",
            "| case | result | what happened |",
            "|---|---|---|",
        ]
        for c in f.cases:
            status = {"pass": "pass", "fail": "**FAIL**", "known": f"fails: {c.bug}", "n/a": "n/a"}[c.status]
            lines.append(f"| {_cell(c.name)} | {status} | {_cell(_short(c.detail, 400))} |")
        lines += ["", "</details>", ""]
    lines += [
        "## Bugs this suite found and that are fixed",
        "",
        "Its first run (2026-11-25: 273 cases, 18 failures) found these; every case above checks the fix.",
        "",
        "| id | bug |",
        "|---|---|",
        *(f"| {k} | {_cell(v)} |" for k, v in FIXED_BUGS.items()),
        "",
    ]
    used = sorted({c.bug for f in fams for c in f.cases if c.bug})
    if used:
        lines += [
            "## Known bugs (found by this suite; fixes proposed to the lead)",
            "",
            "| id | bug | cases |",
            "|---|---|---:|",
        ]
        for bug in used:
            n = sum(c.bug == bug for f in fams for c in f.cases)
            lines.append(f"| {bug} | {_cell(KNOWN_BUGS[bug])} | {n} |")
        lines.append("")
    return "\n".join(lines)


def write_report(result: SuiteResult, path: str | Path, command: str = "fpliif robustness") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from .fileio import atomic_write

    return atomic_write(path, render_report(result, command))


# -- command line ------------------------------------------------------------------------------
def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=DEFAULT_OUT, help="the Markdown report to write")
    p.add_argument("--quick", action="store_true", help="fewer kills and real-fault launches")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill points and of the generated data")
    p.add_argument(
        "--only",
        nargs="+",
        choices=FAMILIES,
        default=argparse.SUPPRESS,
        metavar="FAMILY",
        help=f"run only these families of {', '.join(FAMILIES)} (default: all)",
    )
    p.add_argument(
        "--workdir",
        default=argparse.SUPPRESS,
        help="keep the trees and runs here (default: a temporary folder, removed)",
    )


def run(args: argparse.Namespace) -> int:
    result = run_suite(
        families=getattr(args, "only", None) or FAMILIES,
        quick=args.quick,
        seed=args.seed,
        workdir=getattr(args, "workdir", None),
        progress=lambda line: print(f"fpliif robustness: {line}", flush=True),
    )
    cmd = (
        "fpliif robustness"
        + (" --quick" if args.quick else "")
        + (f" --seed {args.seed}" if args.seed else "")
    )
    if getattr(args, "only", None):
        cmd += " --only " + " ".join(args.only)
    path = write_report(result, args.out, cmd)
    unexpected = [c for f in result.families for c in f.unexpected]
    tried = sum(f.tried for f in result.families)
    passed = sum(f.count("pass") for f in result.families)
    known = sum(f.count("known") for f in result.families)
    print(
        f"fpliif robustness: {tried} cases tried, {passed} passed, {len(unexpected)} unexplained failures, "
        f"{known} failures from known bugs; {result.seconds:.0f} s; report: {path}"
    )
    for c in unexpected:
        print(f"  FAIL {c.name}: {_short(c.detail, 300)}", file=sys.stderr)
    return 1 if unexpected else 0
