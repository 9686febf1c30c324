"""Export: ONNX at a fixed output size (checked against PyTorch with onnxruntime), or the weights
folder ``fpliif.load_pretrained`` reads.

    fpliif export --checkpoint runs/lapa/best.pt --size 256 --out model.onnx
    fpliif export --model fpliif-tiny --size 64 --out tiny.onnx        # untrained, for benchmarks
    fpliif export --format safetensors --checkpoint runs/real/best.pt --out results/real/model [--fp16]

``--format safetensors`` writes ``model.safetensors`` and ``config.json`` into the folder
``--out`` (``fpliif.weights``: any output size, no onnxruntime needed); ``--fp16`` stores the
weights in half precision (half the file; loaded back as fp32).

The ONNX graph takes ``images`` [B,3,H,W] (float32 in [0, 1]; B is dynamic, H and W are fixed
to ``--input-size``) and returns ``logits`` [B,K,S,S] at the **fixed output size** ``--size``.
An implicit function could decode any size, but the query geometry (which latent cell each
output pixel reads, its relative position and ensemble weight) is a constant of the output
size, so the export bakes it in as initializers; export once per output size you need.

The graph computes what ``fpliif.models.fast`` computes (first pixel-MLP layer on the latent
grid, negligible and duplicate ensemble evaluations dropped), with the
plain ONNX ops Conv, InstanceNormalization, MatMul, Gather and ScatterND(add). After writing it,
the export runs onnxruntime and PyTorch's paper-faithful forward on the same random images and
reports the largest absolute difference of the logits. Unlike the PyTorch fast path, the graph
is not chunked: its working memory grows with B x S^2 (about 1.1 GB per image at S = 256).

The U-Net ablation is exported as its plain forward (with a bilinear resize to ``--size``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import FpliifError
from .models import FPLIIF, MODELS, build_model
from .models.decoder import make_coord
from .models.fast import FastLIIFDecoder
from .models.segmenter import resample_logits
from .sizes import as_size

OPSET = 18


def latent_size(input_size: tuple[int, int]) -> tuple[int, int]:
    """The encoder's latent size: two stride-2 3x3 convs with padding 1 (ceil(x/2) twice)."""
    return tuple((((s + 1) // 2) + 1) // 2 for s in input_size)  # type: ignore[return-value]


class FixedSizeFPLIIF(nn.Module):
    """An FP-LIIF at one output size with the fast decoder's algebra and constant query geometry.

    images [B,3,H,W] -> logits [B,K,*out_size]. Pure standard ops (no chunk loop, no oneDNN
    custom ops), so it exports to ONNX and traces cleanly; fp32 only.
    """

    def __init__(
        self, model: FPLIIF, out_size: int | tuple[int, int], input_size: int | tuple[int, int] = 256
    ) -> None:
        super().__init__()
        model = model.eval()
        self.out_size = as_size(out_size)
        self.input_size = as_size(input_size)
        self.implicit = model.implicit
        self.encoder = model.encoder
        if not self.implicit:
            self.decoder = model.decoder
            return
        dec = FastLIIFDecoder(model.decoder, dtype=torch.float32, chunk_rows=1 << 62)
        self.dec = dec
        h, w = latent_size(self.input_size)
        device = next(model.parameters()).device
        coords = make_coord(self.out_size, device=device)
        q_idx, cell, rel, weight = dec.geometry(coords, h, w)
        self.latent_hw = (h, w)
        self.register_buffer("q_idx", q_idx)
        self.register_buffer("cell", cell)
        self.register_buffer("rel", rel.contiguous())
        self.register_buffer("weight", weight.view(-1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.implicit:
            return resample_logits(self.decoder(*self.encoder.forward_features(images)), self.out_size)
        dec = self.dec
        latent = self.encoder(images)
        b = latent.shape[0]
        glob = latent.mean(dim=(2, 3))
        x = F.conv2d(latent, dec.rc_conv_w, dec.rc_conv_b, padding=dec.unfold // 2)
        rows = x.flatten(2).transpose(1, 2)  # [B,hw,R1]
        for name in dec.rc_names:
            rows = F.linear(rows.relu(), getattr(dec, f"{name}_w"), getattr(dec, f"{name}_b"))
        table = F.linear(rows, dec.w1_feat) + (F.linear(glob, dec.w1_glob) + dec.b1).unsqueeze(1)
        x = (table[:, self.cell] + self.rel @ dec.w1_rel_t).relu()  # [B,n,H1]
        for name in dec.hidden_names:
            x = F.linear(x, getattr(dec, f"{name}_w"), getattr(dec, f"{name}_b")).relu()
        logits = F.linear(x, dec.out_w, dec.out_b) * self.weight  # [B,n,K], weighted
        q = self.out_size[0] * self.out_size[1]
        out = logits.new_zeros(b, q, logits.shape[-1]).index_add(1, self.q_idx, logits)
        return out.transpose(1, 2).reshape(b, -1, *self.out_size)


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    out_size: int | tuple[int, int] = 256,
    input_size: int | tuple[int, int] = 256,
    opset: int = OPSET,
) -> Path:
    """Write ``model`` (an FP-LIIF, any variant; fp32, CPU) as ONNX at a fixed output size."""
    if not isinstance(model, FPLIIF):
        raise FpliifError(f"only FP-LIIF models export; got {type(model).__name__}")
    model = model.float().cpu().eval()
    fixed = FixedSizeFPLIIF(model, out_size, input_size).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = as_size(input_size)
    example = torch.rand(2, 3, h, w)
    batch = torch.export.Dim("batch", min=1, max=4096)
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            fixed,
            (example,),
            dynamo=True,
            input_names=["images"],
            output_names=["logits"],
            dynamic_shapes={"images": {0: batch}},
            opset_version=opset,
            external_data=False,
            verbose=False,
        )
    if program is None:  # pragma: no cover - dynamo export always returns a program
        raise FpliifError("ONNX export returned nothing")
    program.save(str(path), external_data=False)
    return path


def ort_session(path: str | Path, *, threads: int | None = None, device: str = "cpu") -> Any:
    """An onnxruntime session (CPU, or CUDA when asked and available) with full graph optimisation."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - in the pinned environment
        raise FpliifError("onnxruntime is not installed (pip install fpliif[export])") from exc
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers)


def check_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    out_size: int | tuple[int, int] = 256,
    input_size: int | tuple[int, int] = 256,
    batch: int = 2,
    threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the ONNX file with onnxruntime and the paper-faithful PyTorch forward on the same random
    images; returns ``max_abs_diff``, ``max_abs_logit`` and the argmax ``label_agreement``."""
    model = model.float().cpu().eval()
    h, w = as_size(input_size)
    images = torch.rand(batch, 3, h, w, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        ref = model(images, as_size(out_size))
    sess = ort_session(path, threads=threads)
    out = torch.from_numpy(sess.run(["logits"], {"images": images.numpy()})[0])
    if out.shape != ref.shape:
        raise FpliifError(f"ONNX output shape {tuple(out.shape)} != PyTorch {tuple(ref.shape)}")
    return {
        "max_abs_diff": float((out - ref).abs().max()),
        "max_abs_logit": float(ref.abs().max()),
        "label_agreement": float((out.argmax(1) == ref.argmax(1)).float().mean()),
        "batch": batch,
    }


# ----------------------------------------------------------------------------------------- CLI


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (p.description or "") + (
        "\n\nThe graph takes images [B,3,H,W] in [0,1] (B dynamic, H=W=--input-size) and returns "
        "logits [B,K,S,S] at the fixed output size S=--size; export once per output size."
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="an fpliif checkpoint (fpliif.engine.checkpoint)")
    src.add_argument(
        "--model",
        choices=[n for n in MODELS.names() if n.startswith("fpliif")],
        help="export an untrained registered model instead (for benchmarks)",
    )
    p.add_argument("--num-classes", type=int, default=11, help="classes of an untrained --model")
    p.add_argument(
        "--format",
        choices=["onnx", "safetensors"],
        default="onnx",
        help="onnx: one graph at --size; safetensors: the weights folder (model.safetensors + config.json)",
    )
    p.add_argument("--fp16", action="store_true", help="safetensors: store fp16 weights (read back as fp32)")
    p.add_argument(
        "--licence", default=None, help="safetensors: the weights' licence, recorded in config.json"
    )
    p.add_argument(
        "--describe",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="safetensors: set config.json's data, budget, scores or notes (VALUE: YAML; repeatable)",
    )
    p.add_argument("--size", type=int, default=256, help="fixed output size S of the graph (S x S)")
    p.add_argument("--input-size", type=int, default=256, help="input image size (H = W)")
    p.add_argument(
        "--out", type=Path, required=True, help="the .onnx file, or the folder for --format safetensors"
    )
    p.add_argument("--opset", type=int, default=OPSET, help="ONNX opset")
    p.add_argument("--check-batch", type=int, default=2, help="images in the onnxruntime check (0: skip)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime / torch threads")


def parse_describe(items: list[str]) -> dict[str, Any]:
    """``--describe KEY=VALUE`` items as a dict (values parsed as YAML); only DESCRIBED keys."""
    import yaml

    from .weights import DESCRIBED

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in DESCRIBED:
            raise FpliifError(
                f"--describe {item!r}: expected KEY=VALUE with KEY one of {', '.join(DESCRIBED)}"
            )
        out[key] = yaml.safe_load(raw)
    return out


def _export_safetensors(args: argparse.Namespace) -> int:
    from .engine.checkpoint import load_checkpoint, make_checkpoint
    from .weights import CONFIG_FILE, WEIGHTS_FILE, save_pretrained

    if args.checkpoint is not None:
        ckpt = load_checkpoint(args.checkpoint)
        source = str(args.checkpoint)
    else:
        model = build_model(args.model, num_classes=args.num_classes)
        ckpt = make_checkpoint(model, model_name=args.model)
        source = f"untrained {args.model}"
    out = save_pretrained(
        ckpt,
        args.out,
        fp16=args.fp16,
        source=source,
        licence=args.licence,
        describe=parse_describe(args.describe),
    )
    size_mb = (out / WEIGHTS_FILE).stat().st_size / 2**20
    dtype = "fp16" if args.fp16 else "fp32"
    print(f"wrote {out / WEIGHTS_FILE} ({size_mb:.1f} MB, {dtype}) and {out / CONFIG_FILE} from {source}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.format == "safetensors":
        return _export_safetensors(args)
    if args.checkpoint is not None:
        from .engine.checkpoint import load_model

        model, _ckpt = load_model(args.checkpoint)
        source = str(args.checkpoint)
    else:
        model = build_model(args.model, num_classes=args.num_classes)
        source = f"untrained {args.model}"
    t0 = time.perf_counter()
    path = export_onnx(model, args.out, out_size=args.size, input_size=args.input_size, opset=args.opset)
    size_mb = path.stat().st_size / 2**20
    print(
        f"wrote {path} ({size_mb:.1f} MB) from {source} in {time.perf_counter() - t0:.1f}s: "
        f"images [B,3,{args.input_size},{args.input_size}] -> logits [B,K,{args.size},{args.size}]"
    )
    if args.check_batch > 0:
        res = check_onnx(
            model,
            path,
            out_size=args.size,
            input_size=args.input_size,
            batch=args.check_batch,
            threads=args.threads,
        )
        print(
            f"onnxruntime vs PyTorch (paper-faithful forward, batch {res['batch']}): "
            f"max abs diff {res['max_abs_diff']:.3g} (logits up to {res['max_abs_logit']:.3g}), "
            f"argmax agreement {100 * res['label_agreement']:.3f}%"
        )
    return 0


__all__ = ["FixedSizeFPLIIF", "check_onnx", "export_onnx", "latent_size", "ort_session"]
