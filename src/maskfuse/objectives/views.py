"""The similarity structure every view-contrastive loss shares, across views and ranks."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from maskfuse.distributed import gather_with_grad


@dataclass
class ViewSimilarities:
    """Cosine similarities of every local view (query) to every view on every rank (key).

    Attributes:
        sims: [V*B, V*W*B] cosine similarities; queries ordered view-major (view 0's B
            rows, then view 1's), keys likewise per view over all ranks.
        positive: [V*B, V*W*B] True where the key is another view of the query's sample.
        self_mask: [V*B, V*W*B] True where the key is the query itself.
    """

    sims: torch.Tensor
    positive: torch.Tensor
    self_mask: torch.Tensor

    @property
    def negative(self) -> torch.Tensor:
        return ~(self.positive | self.self_mask)


def view_similarities(views: tuple[torch.Tensor, ...], gather: bool) -> ViewSimilarities:
    """Similarity structure of V >= 2 views [B, D] each (row i of every view is sample i)."""
    if len(views) < 2:
        raise ValueError(f"contrastive losses need at least 2 views, got {len(views)}")
    shapes = {tuple(v.shape) for v in views}
    if len(shapes) != 1:
        raise ValueError(f"views must have equal shapes, got {[list(v.shape) for v in views]}")
    b, device = views[0].shape[0], views[0].device
    local = [F.normalize(v, dim=-1) for v in views]
    gathered = [gather_with_grad(v) if gather else (v, 0) for v in local]
    rank = gathered[0][1]
    keys = torch.cat([g for g, _ in gathered])  # [V*W*B, D]
    total = gathered[0][0].shape[0]  # W * B
    sims = torch.cat(local) @ keys.T  # [V*B, V*W*B]
    sample = (torch.arange(b, device=device) + rank * b).repeat(len(views))  # global sample id of each query
    key_sample = torch.arange(total, device=device).repeat(len(views))
    same = sample[:, None] == key_sample[None, :]
    query_view = torch.arange(len(views), device=device).repeat_interleave(b)
    key_view = torch.arange(len(views), device=device).repeat_interleave(total)
    self_mask = same & (query_view[:, None] == key_view[None, :])
    return ViewSimilarities(sims, same & ~self_mask, self_mask)
