"""SynthFaces -> real: what the synthetic set transfers to real faces.

A model trained only on SynthFaces (LaPa layout, 11 classes: the main run of ``transfer_profile``)
is scored on the real CelebAMask-HQ test images of the main data, beside the main run trained on
the real images. Both are scored in LaPa's 11 classes: the real labels are mapped as SynthFaces
maps its own 19 painted parts to LaPa (``CELEB_TO_LAPA``: ears count as skin; neck, cloth, hat,
earrings and necklace as background), and eyeglasses pixels are left out, because LaPa labels what
the glasses cover, which a CelebAMask-HQ map does not say. The real model's 19-class predictions
go through the same map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data.synth.parts import EYE_G, TO_LAPA
from ..metrics import IGNORE_INDEX
from ..report import Table
from .common import NOT_RUN, caption, describe

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study
    from ..runs.training import Run

NAME = "transfer_synth_real"
TITLE = "SynthFaces -> real: F1 (%) on real CelebAMask-HQ test images, in LaPa's 11 classes"


def celeb_to_lapa(*, ignore_glasses: bool = True) -> list[int]:
    """The lookup table CelebAMask-HQ id -> LaPa id (SynthFaces' own mapping), glasses ignored."""
    lut = TO_LAPA.astype(np.int64).tolist()
    if ignore_glasses:
        lut[EYE_G] = IGNORE_INDEX
    return lut


def table(results: dict[str, EvalResult], *, caption: str, notes: list[str] | None = None) -> Table:
    """One column per model (``results``: label -> evaluation in LaPa's classes), rows = classes
    and the mean over the 10 foreground classes."""
    first = next(iter(results.values()))
    names = first.class_names
    columns: dict[str, list[float]] = {}
    for label, result in results.items():
        s = result.scores["at256"]
        columns[label] = [100 * v for v in s["f1"][1:]] + [100 * s["mean_f1"]]
    df = pd.DataFrame({"class": [*names[1:], "Mean"], **columns})
    if len(results) == 2:
        a, b = results
        df["gap"] = df[b] - df[a]
    return Table(NAME, TITLE, caption, df, notes=notes or [])


def _score(study: Study, run: Run, key: str, *, pred_map: list[int] | None) -> EvalResult:
    """``run``'s last checkpoint on the main data's test split in LaPa's classes, stored under
    ``<out>/transfer/<key>/`` and reused while the checkpoint (SHA-256) is the same."""
    from ..data import build_dataset, dataset_info
    from ..engine.checkpoint import load_model
    from ..engine.distributed import resolve_device
    from ..engine.evaluate import EvalResult, evaluate
    from ..provenance import file_sha256, provenance
    from ..runs.paths import rel

    folder = study.out / "transfer" / key
    sha = file_sha256(run.checkpoint)
    if (folder / "results.json").is_file():
        stored = EvalResult.load(folder)
        if stored.meta.get("checkpoint_sha256") == sha:
            return stored
    data = study.data.main()
    dataset = build_dataset(data.name, data.root, "test", image_size=None)
    lapa = dataset_info("lapa")
    dtype, batch = study.need("eval_dtype", "eval_batch")
    device = resolve_device(study.device)
    study.log(f"scoring run {run.name} on the real test split in LaPa's classes ...")
    model, ckpt = load_model(run.checkpoint, device=device)
    result = evaluate(
        model,
        dataset,
        num_classes=lapa.num_classes,
        class_names=lapa.class_names,
        sizes=[256],
        input_size=run.config.data.image_size,
        batch_size=batch,
        device=device,
        dtype=dtype,
        progress=False,
        label_map=celeb_to_lapa(),
        pred_map=pred_map,
    )
    result.meta |= {
        "run": run.name,
        "checkpoint": rel(run.checkpoint),
        "checkpoint_sha256": sha,
        "model": ckpt["model_name"],
        "data": {"name": data.name, "root": rel(data.root), "split": "test", "images": len(dataset)},
        "classes": "LaPa's 11: CelebAMask-HQ labels mapped as SynthFaces maps its parts; eyeglasses left out",
        **provenance(),
    }
    result.save(folder)
    return result


def synth_study(study: Study) -> Study | None:
    """The Study of ``transfer_profile`` (its main run is the SynthFaces model), or None."""
    from ..runs.profiles import load_profile
    from ..runs.study import Study

    (name,) = study.need("transfer_profile")
    if not name:
        return None
    params = load_profile(name)
    params["device"] = study.device
    return Study(params, log=study.log)


def make(study: Study) -> Table:
    other = synth_study(study)
    if other is None or not study.main_is_celebamask():
        reason = "transfer_profile unset" if other is None else "the main data is not real CelebAMask-HQ"
        df = pd.DataFrame({"class": [], "SynthFaces-trained": []})
        return Table(NAME, TITLE, caption(f"{NOT_RUN} ({reason})", profile=study.profile), df)
    synth_run, real_run = other.main_run(), study.main_run()
    if synth_run.config.data.name != "synth":
        raise ValueError(f"transfer_profile {other.profile!r}: its main run is not trained on SynthFaces")
    results = {
        "SynthFaces-trained": _score(study, synth_run, "synth", pred_map=None),
        "real-trained": _score(study, real_run, "real", pred_map=celeb_to_lapa(ignore_glasses=False)),
    }
    text = (
        f"SynthFaces-trained: {describe(synth_run, other.data.main())} (profile {other.profile}); "
        f"real-trained: {describe(real_run, study.data.main())}; "
        f"both scored on {results['real-trained'].meta['data']['images']} real test images at 256x256"
    )
    notes = [
        "Classes: the real labels mapped to LaPa's 11 as SynthFaces maps its parts (ears: skin; neck, "
        "cloth, hat, earring, necklace: background); eyeglasses pixels are not scored.",
        "gap = real-trained − SynthFaces-trained.",
    ]
    return table(results, caption=caption(text, profile=study.profile), notes=notes)


__all__ = ["NAME", "TITLE", "celeb_to_lapa", "make", "synth_study", "table"]
