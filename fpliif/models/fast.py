"""The fast inference path of FP-LIIF: the same function as ``FPLIIF.forward``, computed with less work.

    fast = optimize_for_inference(model)                      # fp32, outputs equal within fp tolerance
    fast = optimize_for_inference(model, dtype=torch.bfloat16) # bf16 compute, fp32 statistics
    logits = fast(images, out_size=256)                       # [B,3,H,W] in [0,1] -> [B,K,256,256]
    gmacs = real_macs(fast, out_size=256) / 1e9               # what this path really performs

What changes, and why the outputs stay the same (``tests/test_fast.py`` checks each):

* **First pixel-MLP layer on the latent grid.** The pixel MLP's first layer is linear in its
  130 inputs (cell feature, global feature, relative position), and gathering a cell's row
  commutes with a linear map. So ``W_f @ feature + W_g @ glob + b`` is computed once per latent
  cell (a [h*w, 256] table) and gathered per query; only ``W_r @ rel`` (2 inputs) is done per
  evaluation: 2*256 instead of 130*256 multiply-accumulates.
* **No evaluation whose ensemble weight is negligible or that repeats another.** When a query
  lies on a latent cell centre (output 64 from a 64x64 latent; every third row and column at
  192) LIIF's area weights of the cells behind it are ~1e-9 of the dominant one (the ``+1e-9``
  of the area), far below fp32 resolution: evaluations whose weight (of the pixel's total of 1)
  is at most ``prune`` = 1e-6 are skipped. At the image border clamping sends two shifts to the
  same cell with the same relative position; the duplicate is evaluated once with the summed
  weight. The error this allows is at most ``prune`` times the largest dropped logit.
* **Weighted logits, not weighted features.** Each evaluation's 11 logits are weighted and
  added into the output, so chunks need not align with pixels. (Summing the 256-wide hidden
  features before one shared output layer would save about 1% of the MACs but needs a
  256-wide scatter instead of an 11-wide one.)
* **The RCMLP as a convolution.** 3x3 unfolding followed by a linear map is a 3x3 convolution
  with the weight reshaped (same zero padding); the rest of the RCMLP runs on rows.
* **Cache-sized chunks.** The MLP runs on ``chunk_rows`` rows (evaluations x images) at a time,
  so its activations stay in cache and the working memory is bounded whatever the output size:
  only the output grows with it.
* **Encoder.** channels_last convolutions (oneDNN's preferred layout on CPU); instance norm
  on CPU through the channels_last batch-norm kernel one image at a time (for one image,
  batch-norm statistics *are* instance-norm statistics); eval batch norm folded into the
  preceding conv; images encoded ``micro_batch`` at a time so one image's activations stay in
  the last-level cache.
* **Precision.** ``dtype=torch.bfloat16`` (or float16 on CUDA) runs convolutions and GEMMs in
  that type (fp32 accumulation inside oneDNN/cuBLAS); norm statistics, the global feature and
  the ensemble sum stay fp32, and the logits come back fp32. The U-Net ablation's plain decoder
  runs under ``precision.autocast``.
* **Fused GEMM + bias + ReLU** through oneDNN (``torch.ops.mkldnn._linear_pointwise``) on CPU
  when available, ``F.linear`` elsewhere.

* **Adaptive decoding** (``decode="adaptive"``, ``models.adaptive``; beyond the paper, and the
  only option here that changes outputs): a coarse grid, then exact queries only where it is
  uncertain, the rest upsampled. Its queries are this decoder's ``decode``.

The query geometry (which latent cells a pixel reads, with which weights) is the eager
decoder's own, ``decoder.local_ensemble``, and the calls are ``Segmenter``'s. Everything runs
under ``torch.inference_mode``. Variants the fast decoder does not cover (the U-Net decoder) run
the fast encoder and then the plain decoder. ``real_macs`` counts what a path performs with
``FlopCounterMode`` (halved, like ``complexity.count_macs``), including the oneDNN ops it does
not know by default; the paper-faithful count stays ``complexity.count_macs(model)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..precision import autocast, native_bf16
from ..sizes import as_size
from .adaptive import DECODE_MODES, AdaptiveDecoder, AdaptiveSettings
from .decoder import LIIFDecoder, local_ensemble, make_coord
from .encoder import EDSREncoder, ResBlock, ResGroup
from .fpliif import FPLIIF
from .segmenter import Segmenter

PRUNE = 1e-6  # relative ensemble weight below which a query evaluation is skipped


def _mkldnn_linear_ok(dtype: torch.dtype) -> bool:
    if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
        return False
    return dtype == torch.float32 or native_bf16("cpu")  # oneDNN has no bf16 primitive without AVX-512


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *, relu: bool) -> torch.Tensor:
    """``x @ weight.T + bias`` (then ReLU), fused through oneDNN on CPU where it can be (not under
    torch.compile, which does its own fusion)."""
    if (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.bfloat16)
        and _mkldnn_linear_ok(x.dtype)
        and not torch.compiler.is_compiling()
    ):
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu" if relu else "none", [], "")
    y = F.linear(x, weight, bias)
    return y.relu_() if relu else y


# ----------------------------------------------------------------------------------------- encoder


class _Conv(nn.Module):
    """A conv's weight and bias, cast once to the compute dtype (and memory format)."""

    def __init__(
        self, conv: nn.Conv2d, dtype: torch.dtype, channels_last: bool, fold: nn.Module | None
    ) -> None:
        super().__init__()
        w = conv.weight.detach().float()
        b = conv.bias.detach().float() if conv.bias is not None else torch.zeros(w.shape[0], device=w.device)
        if isinstance(fold, nn.BatchNorm2d):  # eval batch norm is affine: fold it into the conv
            scale = fold.weight.detach().float() / torch.sqrt(fold.running_var.float() + fold.eps)
            w = w * scale.view(-1, 1, 1, 1)
            b = (b - fold.running_mean.float()) * scale + fold.bias.detach().float()
        if channels_last:
            w = w.contiguous(memory_format=torch.channels_last)
        self.register_buffer("weight", w.to(dtype))
        self.register_buffer("bias", b.to(dtype))
        self.stride = conv.stride
        self.padding = conv.padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class _InstanceNorm(nn.Module):
    """Instance norm through the batch-norm kernel, one image at a time (fast in channels_last).

    For a batch of one image, batch-norm statistics over (N, H, W) are the instance-norm ones.
    Statistics and affine parameters stay fp32 whatever the input dtype.
    """

    def __init__(self, norm: nn.InstanceNorm2d) -> None:
        super().__init__()
        c = norm.num_features
        self.register_buffer("weight", norm.weight.detach().float() if norm.affine else torch.ones(c))
        self.register_buffer("bias", norm.bias.detach().float() if norm.affine else torch.zeros(c))
        self.eps = norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":  # cuDNN's instance norm is fine (and the batch is large there)
            return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)
        if x.shape[0] == 1:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return torch.cat([self(x[i : i + 1]) for i in range(x.shape[0])])


class _Block(nn.Module):
    """conv-norm-ReLU-conv-norm plus identity, norms optional (folded or absent)."""

    def __init__(self, c1: _Conv, n1: nn.Module | None, c2: _Conv, n2: nn.Module | None) -> None:
        super().__init__()
        self.c1, self.n1, self.c2, self.n2 = c1, n1, c2, n2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(x)
        if self.n1 is not None:
            h = self.n1(h)
        h = self.c2(h.relu_())
        if self.n2 is not None:
            h = self.n2(h)
        return h.add_(x)


def _residual(group: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    y = group(x)
    return y + x if y is x else y.add_(x)


class FastEncoder(nn.Module):
    """The EDSR encoder (any norm) with fast convs and norms.

    Images [B,3,H,W] in [0,1] -> latent, or (skip1, skip2, latent) with ``forward_features``,
    like ``EDSREncoder``; tensors come out in ``dtype`` (channels_last when asked).
    """

    def __init__(
        self,
        encoder: EDSREncoder,
        *,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = True,
        micro_batch: int | None = 1,
    ) -> None:
        super().__init__()
        self.dtype = dtype
        self.channels_last = channels_last
        self.micro_batch = micro_batch
        self.register_buffer("mean", encoder.mean.detach().clone(), persistent=False)
        self.register_buffer("std", encoder.std.detach().clone(), persistent=False)
        self.head = _Conv(encoder.head, dtype, channels_last, None)
        self.down1 = _Conv(encoder.down1, dtype, channels_last, None)
        self.down2 = _Conv(encoder.down2, dtype, channels_last, None)
        self.group1 = self._group(encoder.group1)
        self.group2 = self._group(encoder.group2)
        self.group3 = self._group(encoder.group3)

    def _group(self, group: ResGroup) -> nn.Sequential:
        steps: list[nn.Module] = []
        for layer in group.body:
            if isinstance(layer, ResBlock):
                conv1, norm1, _relu, conv2, norm2 = layer.body
                steps.append(_Block(*self._conv_norm(conv1, norm1), *self._conv_norm(conv2, norm2)))
            elif isinstance(layer, nn.Conv2d):
                steps.append(_Conv(layer, self.dtype, self.channels_last, None))
            else:  # pragma: no cover - EDSREncoder builds only the two kinds above
                raise TypeError(f"unexpected layer {type(layer).__name__} in the encoder")
        return nn.Sequential(*steps)

    def _conv_norm(self, conv: nn.Conv2d, norm: nn.Module) -> tuple[_Conv, nn.Module | None]:
        if isinstance(norm, nn.InstanceNorm2d):
            return _Conv(conv, self.dtype, self.channels_last, None), _InstanceNorm(norm)
        if isinstance(norm, nn.BatchNorm2d):
            return _Conv(conv, self.dtype, self.channels_last, norm), None
        if isinstance(norm, nn.Identity):
            return _Conv(conv, self.dtype, self.channels_last, None), None
        raise TypeError(f"unsupported norm {type(norm).__name__}")

    def _features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = ((images - self.mean) / self.std).to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        s1 = _residual(self.group1, self.head(x))
        s2 = _residual(self.group2, self.down1(s1))
        latent = _residual(self.group3, self.down2(s2))
        return s1, s2, latent

    def forward_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        step = self.micro_batch or images.shape[0]
        if images.shape[0] <= step:
            return self._features(images)
        parts = [self._features(images[s : s + step]) for s in range(0, images.shape[0], step)]
        return tuple(torch.cat([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        step = self.micro_batch or images.shape[0]
        if images.shape[0] <= step:
            return self._features(images)[2]
        return torch.cat([self._features(images[s : s + step])[2] for s in range(0, images.shape[0], step)])


# ----------------------------------------------------------------------------------------- decoder


def _linears(seq: nn.Sequential) -> list[nn.Linear]:
    return [m for m in seq if isinstance(m, nn.Linear)]


class FastLIIFDecoder(nn.Module):
    """``LIIFDecoder`` with the first MLP layer on the latent grid, negligible/duplicate ensemble
    evaluations skipped and cache-sized chunks (see the module docstring).

    latent [B,C,h,w] -> logits [B,K,H,W] (``out_size``) or [B,K,Q] (``coords`` [B,Q,2]); fp32.
    """

    def __init__(
        self,
        decoder: LIIFDecoder,
        *,
        dtype: torch.dtype = torch.float32,
        chunk_rows: int = 4096,
        prune: float = PRUNE,
        block: int = 1 << 15,
    ) -> None:
        super().__init__()
        self.dtype = dtype
        self.chunk_rows = chunk_rows
        self.block = block  # queries whose geometry is computed at once
        self.prune = prune
        self.ensemble = decoder.ensemble
        self.unfold = decoder.unfold
        rc = _linears(decoder.rcmlp.layers)
        mlp = _linears(decoder.mlp.layers)
        if len(mlp) < 2:
            raise ValueError("the fast decoder needs a pixel MLP with at least one hidden layer")
        c = mlp[0].in_features - rc[-1].out_features - 2  # latent channels
        u = self.unfold

        def put(name: str, t: torch.Tensor, dt: torch.dtype = dtype) -> None:
            self.register_buffer(name, t.detach().float().contiguous().to(dt))

        # unfold + linear == conv with the weight reshaped (F.unfold's channel order is c, ky, kx)
        put("rc_conv_w", rc[0].weight.view(rc[0].out_features, c, u, u))
        put("rc_conv_b", rc[0].bias)
        self.rc_names = [f"rc{i}" for i in range(1, len(rc))]
        for name, lin in zip(self.rc_names, rc[1:], strict=True):
            put(f"{name}_w", lin.weight)
            put(f"{name}_b", lin.bias)
        r = rc[-1].out_features
        w1 = mlp[0].weight
        put("w1_feat", w1[:, :r])  # on the latent grid
        put("w1_glob", w1[:, r : r + c], torch.float32)  # once per image
        put("b1", mlp[0].bias, torch.float32)
        put("w1_rel_t", w1[:, r + c :].t())  # [2,H1], per evaluation
        self.hidden_names = [f"h{i}" for i in range(1, len(mlp) - 1)]
        for name, lin in zip(self.hidden_names, mlp[1:-1], strict=True):
            put(f"{name}_w", lin.weight)
            put(f"{name}_b", lin.bias)
        put("out_w", mlp[-1].weight)
        put("out_b", mlp[-1].bias)
        self.num_classes = mlp[-1].out_features

    def prepare(self, latent: torch.Tensor) -> torch.Tensor:
        """Per image, once: the first MLP layer's share of every latent cell, [B*h*w, H1] (``dtype``):
        ``W_f @ RCMLP(unfold(latent)) + W_g @ mean(latent) + b``."""
        b, _c, h, w = latent.shape
        glob = latent.float().mean(dim=(2, 3))  # [B,C]
        x = F.conv2d(latent.to(self.dtype), self.rc_conv_w, self.rc_conv_b, padding=self.unfold // 2)
        rows = x.permute(0, 2, 3, 1).reshape(b * h * w, -1)  # a view for channels_last
        for name in self.rc_names:
            rows = linear(rows.relu(), getattr(self, f"{name}_w"), getattr(self, f"{name}_b"), relu=False)
        table = linear(rows, self.w1_feat, None, relu=False).float().view(b, h * w, -1)
        table += (F.linear(glob, self.w1_glob) + self.b1).unsqueeze(1)
        return table.view(b * h * w, -1).to(self.dtype)

    def geometry(self, coords: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, ...]:
        """The evaluations for query coords [Q,2] on an h x w latent: (query index [n], cell index
        [n], rel [n,2], weight [n]) over the kept (query, shift) pairs, ordered by query.

        The cells, relative positions and weights of ``decoder.local_ensemble``; then duplicates
        merged and weights <= ``prune`` dropped (see the module docstring).
        """
        cell, rel, weight = local_ensemble(coords, (h, w), ensemble=self.ensemble)  # [S,Q], [S,Q,2], [S,Q]
        if not self.ensemble:
            return torch.arange(coords.shape[0], device=coords.device), cell[0], rel[0], weight[0]
        # A shift that lands on the same cell as an earlier one repeats its evaluation: merge.
        for k in range(1, cell.shape[0]):
            for j in range(k):
                same = cell[k] == cell[j]
                weight[j] = torch.where(same, weight[j] + weight[k], weight[j])
                weight[k] = torch.where(same, torch.zeros_like(weight[k]), weight[k])
        keep = (weight > self.prune).t()  # [Q,S]: nonzero() lists them by query
        q_idx, s_idx = keep.nonzero(as_tuple=True)
        return q_idx, cell[s_idx, q_idx], rel[s_idx, q_idx], weight[s_idx, q_idx]

    def evaluate(
        self, table: torch.Tensor, batch: int, cells_per_image: int, geometry: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The pixel MLP on n evaluations shared by a batch: (logits [B*n, K] fp32, weights [B*n])."""
        _q, cell, rel, weight = geometry
        if batch > 1:
            offsets = torch.arange(batch, device=cell.device).view(-1, 1) * cells_per_image
            cell, rel, weight = (offsets + cell).reshape(-1), rel.repeat(batch, 1), weight.repeat(batch)
        x = table.index_select(0, cell)  # [B*n, H1]: the gathered first-layer rows
        x = x.addmm_(rel.to(x.dtype), self.w1_rel_t).relu_()
        for name in self.hidden_names:
            x = linear(x, getattr(self, f"{name}_w"), getattr(self, f"{name}_b"), relu=True)
        return linear(x, self.out_w, self.out_b, relu=False).float(), weight

    def forward(
        self,
        latent: torch.Tensor,
        *,
        coords: torch.Tensor | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        b, _c, h, w = latent.shape
        table = self.prepare(latent)
        if coords is not None:  # per-image query points
            outs = []
            for i in range(b):
                rows = table[i * h * w : (i + 1) * h * w]
                outs.append(self.decode(rows, 1, (h, w), coords[i]).transpose(1, 2))
            return torch.cat(outs)
        if out_size is None:
            raise ValueError("pass either coords or out_size")
        grid = make_coord(out_size, device=latent.device)
        return self.decode(table, b, (h, w), grid).transpose(1, 2).reshape(b, -1, *out_size)

    def decode(
        self, table: torch.Tensor, batch: int, hw: tuple[int, int], coords: torch.Tensor
    ) -> torch.Tensor:
        """coords [Q,2] (shared by the batch) -> logits [B,Q,K] (fp32): geometry ``block`` queries
        at a time, the MLP ``chunk_rows`` rows (evaluations x batch) at a time, each chunk's
        weighted logits added into the output (so an ensemble may span two chunks)."""
        q = coords.shape[0]
        out = torch.zeros(batch * q, self.num_classes, device=table.device, dtype=torch.float32)
        per_chunk = max(1, self.chunk_rows // batch)
        target_offsets = torch.arange(batch, device=table.device).view(-1, 1) * q
        for qs in range(0, q, self.block):
            q_idx, cell, rel, weight = self.geometry(coords[qs : qs + self.block], *hw)
            q_idx = q_idx + qs
            for es in range(0, cell.shape[0], per_chunk):
                part = (
                    q_idx[es : es + per_chunk],
                    cell[es : es + per_chunk],
                    rel[es : es + per_chunk],
                    weight[es : es + per_chunk],
                )
                logits, wts = self.evaluate(table, batch, hw[0] * hw[1], part)
                target = (target_offsets + part[0]).reshape(-1) if batch > 1 else part[0]
                out.index_add_(0, target, logits.mul_(wts.unsqueeze(1)))
        return out.view(batch, q, -1)


# ----------------------------------------------------------------------------------------- model


class FastFPLIIF(Segmenter):
    """The fast path of an ``FPLIIF``: ``(images [B,3,H,W] in [0,1], out_size=None) -> logits``.

    Same calls (``Segmenter``'s) and, within fp tolerance in fp32, the same outputs as
    ``FPLIIF.forward``; logits are always fp32. Build it with ``optimize_for_inference``.
    """

    def __init__(
        self,
        model: FPLIIF,
        *,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = True,
        micro_batch: int | None = 1,
        chunk_rows: int = 4096,
        prune: float = PRUNE,
        decode: str = "dense",
        adaptive: AdaptiveSettings | None = None,
    ) -> None:
        super().__init__()
        self.config = model.config
        self.dtype = dtype
        self.implicit = model.implicit
        self.decode = decode
        self.encoder = FastEncoder(
            model.encoder, dtype=dtype, channels_last=channels_last, micro_batch=micro_batch
        )
        self.decoder: nn.Module
        if self.implicit:
            self.decoder = FastLIIFDecoder(model.decoder, dtype=dtype, chunk_rows=chunk_rows, prune=prune)
            if decode == "adaptive":
                self.decoder = AdaptiveDecoder(self.decoder, settings=adaptive)
        else:  # the U-Net ablation: fast encoder, plain decoder (autocast for reduced precision)
            self.decoder = model.decoder
        self.to(next(model.parameters()).device)

    def dense_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The U-Net ablation's logits at the input size, [B,K,H,W] fp32 (channels_last)."""
        s1, s2, latent = self.encoder.forward_features(images)
        with autocast(images.device, self.dtype):
            return self.decoder(s1, s2, latent).float()

    # Segmenter's calls, always under inference mode: the fast path holds no gradients.
    forward = torch.inference_mode()(Segmenter.forward)
    forward_sizes = torch.inference_mode()(Segmenter.forward_sizes)


def optimize_for_inference(
    model: nn.Module,
    *,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = True,
    micro_batch: int | None = -1,
    chunk_rows: int | None = None,
    prune: float = PRUNE,
    decode: str = "dense",
    adaptive: AdaptiveSettings | None = None,
) -> nn.Module:
    """The fast inference path of an FP-LIIF model (any variant); see the module docstring.

    ``dtype``: float32 (outputs equal the paper-faithful forward within fp tolerance), bfloat16,
    or float16 (CUDA). ``micro_batch``: images encoded at a time (None: the whole batch; default
    1 on CPU, where one image's activations then stay in the last-level cache, and the whole
    batch on GPUs). ``chunk_rows``: MLP rows decoded at a time (default 4096 on CPU, 2**18 on
    GPUs); bounds the decoder's working memory. ``prune``: ensemble weight (of a pixel's total
    of 1) at or under which an evaluation is skipped; 0 keeps every non-duplicate one.
    ``decode``: ``dense`` (every output pixel queried; the paper's computation) or ``adaptive``
    (``models.adaptive``: a coarse grid, exact queries only where it is uncertain, with
    ``adaptive`` settings or their defaults); the U-Net ablation has no implicit decoder and
    ignores it. The fast module lives on the model's device. A model that is not an ``FPLIIF`` is returned
    unchanged (in eval mode).
    """
    if not isinstance(model, FPLIIF):
        return model.eval()
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {DECODE_MODES}, got {decode!r}")
    model = model.eval()
    gpu = next(model.parameters()).device.type != "cpu"
    return FastFPLIIF(
        model,
        dtype=dtype,
        channels_last=channels_last,
        micro_batch=(None if gpu else 1) if micro_batch == -1 else micro_batch,
        chunk_rows=chunk_rows or ((1 << 18) if gpu else 4096),
        prune=prune,
        decode=decode,
        adaptive=adaptive,
    ).eval()


# ----------------------------------------------------------------------------------------- counting


def _mm_flops(x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs (2 per multiply-add) of ``torch.ops.mkldnn._linear_pointwise``: X [..., K] @ W[N, K].T."""
    rows = 1
    for d in x_shape[:-1]:
        rows *= d
    return 2 * rows * x_shape[-1] * w_shape[0]


def _addmm_flops(self_shape, a_shape, b_shape, *args, **kwargs) -> int:
    """FLOPs of ``self.addmm_(a, b)``: [M, K] @ [K, N]."""
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


def _custom_flops() -> dict[Any, Any]:
    """Formulas for the ops of this path that ``FlopCounterMode`` does not count by default."""
    mapping: dict[Any, Any] = {}
    # FlopCounterMode looks an op up by overload (to decide whether to decompose it) and counts
    # it by overload packet, so both keys are registered.
    if hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        op = torch.ops.mkldnn._linear_pointwise
        mapping[op] = mapping[op.default] = _mm_flops
    inplace = torch.ops.aten.addmm_  # the per-evaluation rel term, accumulated in place
    mapping[inplace] = mapping[inplace.default] = _addmm_flops
    return mapping


def count_performed_macs(model: nn.Module, images: torch.Tensor, out_size: Any = None) -> int:
    """Multiply-accumulates one call ``model(images, out_size)`` performs (FlopCounterMode, halved;
    the oneDNN fused ops this path uses are counted too). Norms, activations, gathers and the
    ensemble's weighted sum are not counted, as in ``complexity.count_macs``."""
    with FlopCounterMode(display=False, custom_mapping=_custom_flops()) as counter, torch.inference_mode():
        if out_size is None:
            model(images)
        else:
            model(images, out_size)
    return counter.get_total_flops() // 2


def real_macs(
    model: nn.Module,
    *,
    input_size: int | tuple[int, int] = 256,
    out_size: int | tuple[int, int] | None = None,
    batch: int = 1,
    device: str | torch.device = "cpu",
) -> int:
    """``count_performed_macs`` on a random ``batch`` of ``input_size`` images."""
    h, w = as_size(input_size)
    images = torch.rand(batch, 3, h, w, device=device)
    return count_performed_macs(model, images, out_size)


__all__ = [
    "FastEncoder",
    "FastFPLIIF",
    "FastLIIFDecoder",
    "PRUNE",
    "count_performed_macs",
    "linear",
    "optimize_for_inference",
    "real_macs",
]
