"""Figures 3 and 4: one test face encoded once and decoded at several output sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import caption, describe

if TYPE_CHECKING:
    from ..runs.study import Study


def figure(study: Study) -> tuple[Any, str]:
    """The figure (test image ``multires_index`` of the main run's data, decoded at every size of
    ``multires_sizes``, in ``eval_dtype``) and its caption."""
    import torch

    from .. import viz
    from ..data import build_dataset
    from ..engine.checkpoint import load_model
    from ..engine.distributed import resolve_device
    from ..engine.evaluate import resize_image
    from ..precision import autocast

    sizes, index = study.need("multires_sizes", "multires_index")
    run = study.main_run()
    d = run.config.data
    ds = build_dataset(d.name, d.root, "test", image_size=None)
    item = ds[int(index) % len(ds)]
    dev = resolve_device(study.device)
    model = load_model(run.checkpoint, device=dev)[0]
    image = resize_image(item["image"], (d.image_size, d.image_size))
    preds = {}
    with torch.inference_mode(), autocast(dev, study.get("eval_dtype", "fp32")):
        for s in sizes:
            preds[int(s)] = model(image[None].to(dev), (int(s), int(s))).float().argmax(1)[0].cpu()
    fig = viz.multires_figure(
        image,
        preds,
        ds.info.palette,
        input_size=d.image_size,
        class_names=ds.info.class_names,
        title=f"one {d.image_size}x{d.image_size} input of test image {item['name']}, "
        f"decoded at {list(map(int, sizes))} (run {run.name})",
    )
    text = f"{describe(run, study.data.main())}; test image {item['name']}"
    return fig, caption(text, profile=study.profile)
