"""Evaluation and bench records of a profile, reused while they are up to date.

``ensure_eval`` scores a run's last checkpoint (``fpliif.engine.evaluate.evaluate_checkpoint``) into
``<run>/eval-<split>-<sizes>-to<score size>-<dtype>/`` unless a record of the same checkpoint
(by SHA-256) is there; ``ensure_bench`` runs ``fpliif bench`` into ``<out>/bench/bench.json``
unless it already ran with the same arguments.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FpliifError
from .launch import stream
from .paths import Log, rel, resolve, say
from .training import Run

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult


def eval_folder(run: Run, split: str, sizes: Sequence[int], score_size: int, dtype: str) -> Path:
    """Where ``ensure_eval`` keeps a run's record: the settings are its name."""
    sizes = sorted({int(s) for s in sizes} | {int(score_size)})
    return run.dir / f"eval-{split}-{'-'.join(map(str, sizes))}-to{score_size}-{dtype}"


def ensure_eval(
    run: Run,
    *,
    split: str = "test",
    sizes: Sequence[int] = (256,),
    score_size: int = 256,
    dtype: str = "fp32",
    batch_size: int = 8,
    device: str | None = "cpu",
    log: Log = say,
) -> EvalResult:
    """``run``'s last checkpoint scored on ``split`` (an ``EvalResult``); reuses the stored record
    when it was made from the same checkpoint (by SHA-256) with the same settings, or, for a
    ``recorded`` run (its records without its checkpoint), when it is there at all."""
    from ..engine.distributed import resolve_device
    from ..engine.evaluate import EvalResult, evaluate_checkpoint
    from ..provenance import file_sha256

    folder = eval_folder(run, split, sizes, score_size, dtype)
    if (folder / "results.json").is_file():
        stored = EvalResult.load(folder)
        if run.status == "recorded" or stored.meta.get("checkpoint_sha256") == file_sha256(run.checkpoint):
            return stored
    if run.status == "recorded":
        raise FpliifError(
            f"run {run.name}: {rel(run.dir)} holds its records but not its checkpoint, and no "
            f"record {folder.name}; ensure the run with its checkpoint (records_only=False)"
        )
    d = run.config.data
    result, _ = evaluate_checkpoint(
        run.checkpoint,
        folder,
        data=d.name,
        root=d.root,
        input_size=d.image_size,
        split=split,
        sizes=sizes,
        score_size=score_size,
        batch_size=batch_size,
        device=resolve_device(device or "auto"),
        dtype=dtype,
        progress=False,
        run=run.name,
        shown=rel,
        log=log,
    )
    return result


def ensure_bench(folder: str | Path, args: Sequence[str], *, log: Log = say) -> list[dict[str, Any]]:
    """The records of ``fpliif bench ARGS`` (stored in ``folder/bench.json``; rerun when ARGS change)."""
    folder = resolve(folder)
    path, argfile = folder / "bench.json", folder / "bench-args.json"
    args = [str(a) for a in args]
    if path.is_file() and argfile.is_file() and json.loads(argfile.read_text()) == args:
        return json.loads(path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    log(f"fpliif bench {' '.join(args)} ...")
    start = time.perf_counter()
    stream([sys.executable, "-m", "fpliif", "bench", "--out", str(path), *args], log=log, what="fpliif bench")
    argfile.write_text(json.dumps(args))
    log(f"  done in {time.perf_counter() - start:.0f} s")
    return json.loads(path.read_text())


__all__ = ["ensure_bench", "ensure_eval", "eval_folder"]
