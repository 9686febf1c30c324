"""The FP-LIIF decoder: a local implicit image function over the latent grid (section 3.3, Fig. 6).

For a latent [B,C,h,w] (C=64, h=w=H/4) and query coordinates in [-1, 1]:

1. global context   g = mean of the latent over space                               [B,C]
2. local context    3x3 feature unfolding                                           [B,9C,h,w]
3. RCMLP            a two-layer channel-reducing MLP, 9C -> 256 -> 64 per cell       [B,64,h,w]
4. pixel MLP        for each query and each of the four latent cells around it:
                    input = (that cell's reduced feature, g, the query's position
                    relative to the cell centre scaled by the latent size)           130 channels
                    MLP 130 -> 256 -> 256 -> 256 -> 256 -> K
5. local ensemble   the four predictions weighted by the area of the rectangle between the
                    query and the diagonally opposite cell centre (LIIF's rule).

Coordinates use LIIF's convention: (y, x) pairs, pixel centres of an S-pixel axis at
-1 + (2i + 1)/S. The paper mentions bilinear upsampling of the reduced volume before the
MLP; we follow LIIF (docs/paper.md, "Model" and "Readings"): nearest latent cell plus relative
position, which is what makes the per-pixel cost four MLP evaluations and matches Table 6's slope.

``local_ensemble`` computes step 5's geometry; the fast inference path (``fast.py``) and the ONNX
export reuse it, so all three read the same cells with the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The four shifts of the local ensemble; the area of shift k weights the prediction of shift 3-k.
ENSEMBLE_SHIFTS = ((-1, -1), (-1, 1), (1, -1), (1, 1))


def make_coord(size: tuple[int, int], *, device: torch.device | None = None) -> torch.Tensor:
    """Pixel-centre coordinates of an (H, W) grid in [-1, 1], (y, x) order. Returns [H*W, 2]."""
    h, w = size
    ys = -1 + (2 * torch.arange(h, device=device, dtype=torch.float32) + 1) / h
    xs = -1 + (2 * torch.arange(w, device=device, dtype=torch.float32) + 1) / w
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


def local_ensemble(
    coords: torch.Tensor, size: tuple[int, int], *, ensemble: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where queries read an h x w latent: coords [..., 2] -> (cell [S,...], rel [S,...,2], weight [S,...]).

    For each of the S shifts (four with the local ensemble, one without): the latent cell read
    (flat index ``iy * w + ix``), the query's position relative to that cell's centre scaled by
    the latent size, and its ensemble weight: the area of the rectangle between the query and
    the diagonally opposite cell centre over the total (LIIF's rule; 1 without the ensemble).
    """
    h, w = size
    scale = coords.new_tensor([h, w])
    shifts = ENSEMBLE_SHIFTS if ensemble else ((0, 0),)
    eps = 1e-6 if ensemble else 0.0
    cells, rels, areas = [], [], []
    for vy, vx in shifts:
        # Shift the query by one latent cell (LIIF: rx = 2 / h / 2) and take the nearest cell.
        shifted = coords + coords.new_tensor([vy / h, vx / w]) + eps
        shifted = shifted.clamp(-1 + 1e-6, 1 - 1e-6)
        idx = ((shifted + 1) * scale / 2).floor().long()
        iy = idx[..., 0].clamp(0, h - 1)
        ix = idx[..., 1].clamp(0, w - 1)
        centre = torch.stack([-1 + (2 * iy + 1) / h, -1 + (2 * ix + 1) / w], dim=-1)
        rel = (coords - centre) * scale
        cells.append(iy * w + ix)
        rels.append(rel)
        areas.append((rel[..., 0] * rel[..., 1]).abs() + 1e-9)
    if not ensemble:
        return cells[0][None], rels[0][None], torch.ones_like(areas[0])[None]
    total = torch.stack(areas).sum(dim=0)
    weight = torch.stack([areas[len(areas) - 1 - k] / total for k in range(len(areas))])
    return torch.stack(cells), torch.stack(rels), weight


class MLP(nn.Module):
    """Linear-ReLU stack with a linear output layer. [..., in_dim] -> [..., out_dim]."""

    def __init__(self, *, in_dim: int, hidden: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.ReLU(inplace=True)]
            last = width
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class LIIFDecoder(nn.Module):
    """Latent [B,C,h,w] + coords [B,Q,2] -> logits [B,K,Q]."""

    def __init__(
        self,
        *,
        in_channels: int = 64,
        num_classes: int = 11,
        unfold: int = 3,
        reduce_channels: tuple[int, ...] = (256, 64),
        hidden: tuple[int, ...] = (256, 256, 256, 256),
        ensemble: bool = True,
        max_queries: int = 2**17,
    ) -> None:
        super().__init__()
        self.unfold = unfold
        self.ensemble = ensemble
        self.max_queries = max_queries
        self.rcmlp = MLP(
            in_dim=in_channels * unfold * unfold, hidden=reduce_channels[:-1], out_dim=reduce_channels[-1]
        )
        self.mlp = MLP(in_dim=reduce_channels[-1] + in_channels + 2, hidden=hidden, out_dim=num_classes)

    def prepare(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-image work done once: reduced features [B,h,w,R] and the global feature [B,C]."""
        b, c, h, w = latent.shape
        glob = latent.mean(dim=(2, 3))
        unfolded = F.unfold(latent, self.unfold, padding=self.unfold // 2).view(b, c * self.unfold**2, h, w)
        reduced = self.rcmlp(unfolded.permute(0, 2, 3, 1))
        return reduced, glob

    def query(self, reduced: torch.Tensor, glob: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """Decode one chunk: reduced [B,h,w,R], glob [B,C], coords [B,Q,2] -> logits [B,Q,K]."""
        b, h, w, r = reduced.shape
        q = coords.shape[1]
        table = reduced.reshape(b, h * w, r)
        glob_q = glob[:, None, :].expand(b, q, glob.shape[1])
        cells, rels, weights = local_ensemble(coords, (h, w), ensemble=self.ensemble)
        preds = []
        for cell, rel in zip(cells, rels, strict=True):
            feat = torch.gather(table, 1, cell.unsqueeze(-1).expand(b, q, r))
            preds.append(self.mlp(torch.cat([feat, glob_q, rel.to(feat.dtype)], dim=-1)))
        if not self.ensemble:
            return preds[0]
        out: torch.Tensor | int = 0
        for pred, weight in zip(preds, weights, strict=True):
            out = out + pred * weight.unsqueeze(-1).to(pred.dtype)
        return out  # type: ignore[return-value]

    def forward(
        self,
        latent: torch.Tensor,
        *,
        coords: torch.Tensor | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Latent [B,C,h,w] and either coords [B,Q,2] -> logits [B,K,Q], or out_size -> [B,K,H,W].

        Queries are decoded in chunks of at most ``max_queries`` (summed over the batch), so the
        working memory is bounded whatever the output size.
        """
        reduced, glob = self.prepare(latent)
        b = latent.shape[0]
        grid = coords is None
        if grid:
            if out_size is None:
                raise ValueError("pass either coords or out_size")
            coords = make_coord(out_size, device=latent.device).unsqueeze(0).expand(b, -1, -1)
        q = coords.shape[1]
        step = max(1, self.max_queries // b)
        if q <= step:
            logits = self.query(reduced, glob, coords).transpose(1, 2)
        elif torch.is_grad_enabled():
            chunks = [self.query(reduced, glob, coords[:, s : s + step]) for s in range(0, q, step)]
            logits = torch.cat(chunks, dim=1).transpose(1, 2)
        else:
            first = self.query(reduced, glob, coords[:, :step])
            logits = first.new_empty(b, first.shape[-1], q)
            logits[:, :, :step] = first.transpose(1, 2)
            for s in range(step, q, step):
                logits[:, :, s : s + step] = self.query(reduced, glob, coords[:, s : s + step]).transpose(
                    1, 2
                )
        if grid:
            logits = logits.reshape(b, logits.shape[1], *out_size)
        return logits
