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
    h, w = shape[-2:]
    lab = labels.reshape(-1, h, w)
    # Neighbours outside the map take the border pixel's label, so borders are not edges.
    padded = F.pad(lab[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0].to(lab.dtype)
    edges = torch.zeros_like(lab, dtype=torch.bool)
    for dy in range(3):
        for dx in range(3):
            if dy == dx == 1:
                continue
            neigh = padded[:, dy : dy + h, dx : dx + w]
            edges |= (neigh != lab) & (neigh != ignore_index)
    return (edges & (lab != ignore_index)).view(shape)


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

    def terms(
        self, logits: torch.Tensor, target: torch.Tensor, edges: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(CE sum, valid pixels, edge-CE sum, edge pixels): the loss before normalisation.

        Distributed training sums the two counts over ranks and normalises by the totals, which
        makes N ranks compute exactly the loss of one process on the whole batch.
        """
        if logits.shape[0] != target.shape[0] or logits.shape[2:] != target.shape[1:]:
            raise ValueError(f"logits {tuple(logits.shape)} do not match target {tuple(target.shape)}")
        scaled = logits.float() / self.temperature
        pixel_ce = F.cross_entropy(scaled, target, ignore_index=self.ignore_index, reduction="none")
        valid = target != self.ignore_index
        if self.edge_weight == 0:
            zero = pixel_ce.new_zeros(())
            return pixel_ce.sum(), valid.sum(), zero, zero
        if edges is None:
            if target.ndim != 3:
                raise ValueError("edges must be given when the target is not a [B,H,W] map")
            edges = edge_mask(target, ignore_index=self.ignore_index)
        edges = edges & valid
        return pixel_ce.sum(), valid.sum(), (pixel_ce * edges).sum(), edges.sum()

    def combine(
        self, ce_sum: torch.Tensor, n_valid: torch.Tensor, edge_sum: torch.Tensor, n_edges: torch.Tensor
    ) -> torch.Tensor:
        """CE mean + edge_weight * edge-CE mean from the terms (counts may be totals over ranks)."""
        ce = ce_sum / n_valid.clamp(min=1)
        edge_ce = edge_sum / n_edges.clamp(min=1)
        self.last = {"ce": ce.detach(), "edge_ce": edge_ce.detach()}
        return ce + self.edge_weight * edge_ce

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, edges: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.combine(*self.terms(logits, target, edges))
