"""Training losses (paper section 3.4): cross-entropy plus lambda times the edge-aware cross-entropy.

    L = CE(logits / T, y) + lambda * CE_edge(logits / T, y)

CE_edge is the cross-entropy averaged over the edge pixels of the ground-truth map only. A pixel
is an edge when its 3x3 neighbourhood holds another (non-ignored) label, which is where an edge
kernel such as the paper's Fig. 7 responds on the label map. Pixels labelled ``ignore_index``
are never edges and never make their neighbours edges. Map borders do not count as edges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = 255


def edge_mask(labels: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Edges of label maps. labels [..., H, W] (integer) -> bool [..., H, W]."""
    if labels.ndim < 2:
        raise ValueError(f"labels must have at least 2 dims [..., H, W], got {tuple(labels.shape)}")
    shape = labels.shape
    lab = labels.reshape(-1, 1, shape[-2], shape[-1]).float()  # ids up to 255 are exact in float
    # Neighbours outside the map take the border pixel's label, so borders are not edges.
    padded = F.pad(lab, (1, 1, 1, 1), mode="replicate")
    neigh = F.unfold(padded, kernel_size=3).view(lab.shape[0], 9, shape[-2], shape[-1])
    differs = (neigh != lab) & (neigh != ignore_index)
    return (differs.any(dim=1) & (lab[:, 0] != ignore_index)).view(shape)


class FaceParsingLoss(nn.Module):
    """CE + ``edge_weight`` * edge-CE on temperature-scaled logits.

    logits [B,K,*S] and target [B,*S] (S = (H, W) for maps or (Q,) for sampled points).
    ``edges`` (bool [B,*S]) must be given for sampled points; for maps it is computed from target.
    Returns the total loss; ``last`` keeps the two parts (detached) for logging.
    """

    def __init__(
        self, *, edge_weight: float = 10.0, temperature: float = 1.0, ignore_index: int = IGNORE_INDEX
    ):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.edge_weight = edge_weight
        self.temperature = temperature
        self.ignore_index = ignore_index
        self.last: dict[str, torch.Tensor] = {}

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, edges: torch.Tensor | None = None
    ) -> torch.Tensor:
        if logits.shape[0] != target.shape[0] or logits.shape[2:] != target.shape[1:]:
            raise ValueError(f"logits {tuple(logits.shape)} do not match target {tuple(target.shape)}")
        scaled = logits.float() / self.temperature
        pixel_ce = F.cross_entropy(scaled, target, ignore_index=self.ignore_index, reduction="none")
        valid = target != self.ignore_index
        ce = pixel_ce.sum() / valid.sum().clamp(min=1)
        if self.edge_weight == 0:
            self.last = {"ce": ce.detach(), "edge_ce": torch.zeros(())}
            return ce
        if edges is None:
            if target.ndim != 3:
                raise ValueError("edges must be given when the target is not a [B,H,W] map")
            edges = edge_mask(target, ignore_index=self.ignore_index)
        edges = edges & valid
        edge_ce = (pixel_ce * edges).sum() / edges.sum().clamp(min=1)
        self.last = {"ce": ce.detach(), "edge_ce": edge_ce.detach()}
        return ce + self.edge_weight * edge_ce
