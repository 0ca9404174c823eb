"""Small heads that methods put on top of the trunk."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.nn.block import init_weights


def projection_head(dim: int, hidden: int, out: int) -> nn.Sequential:
    """SimCLR's MLP projector: Linear -> BatchNorm -> ReLU -> Linear."""
    head = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out))
    head.apply(init_weights)
    return head


class SharedSpaceHead(nn.Module):
    """A modality's projection into the shared space: BatchNorm (no affine) then Linear.

    Mean-pooled features of a fresh trunk are nearly identical across samples (pooled
    positions dominate them; cosine ~0.99), and a plain linear CLIP projection then
    spends hundreds of steps escaping that, or collapses at higher learning rates.
    Normalising each feature over the batch first removes the shared component; on
    digits-av it took image-text CLIP from no progress in 300 steps at lr 1e-3 to near
    its class-level floor. A batch with one row of the modality uses the running stats.
    """

    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(dim, affine=False)
        self.proj = nn.Linear(dim, out, bias=False)
        init_weights(self.proj)

    @property
    def out_features(self) -> int:
        return self.proj.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] < 2:
            n = self.norm
            return self.proj(F.batch_norm(x, n.running_mean, n.running_var, training=False, eps=n.eps))
        return self.proj(self.norm(x))
