"""Small heads that methods put on top of the trunk."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.distributed import gather_ragged
from maskfuse.nn.block import init_weights


class GatheredBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics span every rank's rows, with gradients (what
    SyncBatchNorm does, on any device, gloo included), so N ranks normalise exactly like
    one process on the joint batch. Alone it is plain BatchNorm1d; with a single row in
    all it uses the running statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        x = x.float()  # statistics in float32 (under bf16 autocast too, as torch runs batch_norm)
        full = gather_ragged(x)  # ranks may hold different counts (a modality's present rows)
        if full.shape[0] < 2:  # one row in all: nothing to normalise over, use the running stats
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        # the same arithmetic alone and distributed (stats of near-identical rows cancel badly,
        # so two formulas would disagree far above rounding)
        mean, var = full.mean(0), full.var(0, unbiased=False)
        with torch.no_grad():
            n = full.shape[0]
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
            self.num_batches_tracked += 1
        y = (x - mean) / torch.sqrt(var + self.eps)
        return y * self.weight + self.bias if self.affine else y


def projection_head(dim: int, hidden: int, out: int) -> nn.Sequential:
    """SimCLR's MLP projector: Linear -> BatchNorm (statistics over all ranks) -> ReLU -> Linear."""
    head = nn.Sequential(
        nn.Linear(dim, hidden), GatheredBatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out)
    )
    head.apply(init_weights)
    return head


class SharedSpaceHead(nn.Module):
    """A modality's projection into the shared space: BatchNorm (no affine) then Linear.

    Mean-pooled features of a fresh trunk are nearly identical across samples (pooled
    positions dominate them; cosine ~0.99), and a plain linear CLIP projection then
    spends hundreds of steps escaping that, or collapses at higher learning rates.
    Normalising each feature over the batch first removes the shared component; on
    digits-av it took image-text CLIP from no progress in 300 steps at lr 1e-3 to near
    its class-level floor. The norm's statistics span every rank.
    """

    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.norm = GatheredBatchNorm1d(dim, affine=False)
        self.proj = nn.Linear(dim, out, bias=False)
        init_weights(self.proj)

    @property
    def out_features(self) -> int:
        return self.proj.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(x))
