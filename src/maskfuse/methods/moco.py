"""MoCo: a momentum key encoder and a queue of earlier keys as negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.distributed import gather_with_grad
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.nn.ema import ema_copy, ema_update
from maskfuse.nn.heads import projection_head
from maskfuse.objectives.queue_infonce import QueueInfoNCE
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("moco")
class MoCo(nn.Module):
    """He et al. 2020 / Chen et al. 2020 (MoCo v2): contrastive learning whose negatives
    come from a queue, so a batch of 32 on a laptop still sees thousands of negatives.

    Stages: two views -> queries from the backbone and head -> keys from their EMA copy
    (momentum contrastive.momentum) -> InfoNCE of each query against its key and the
    queue, symmetrised over the two views -> the new keys replace the oldest in the queue.
    The queue and the key encoder are buffers and frozen weights of this module, so
    checkpoints carry them and a resumed run continues exactly.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        c = cfg.contrastive
        if c.queue_size < 1 or not 0.0 <= c.momentum < 1.0:
            raise ConfigError(f"moco needs contrastive.queue_size >= 1 and 0 <= momentum < 1, got {c}")
        self.modality, self.momentum = spec.modality, c.momentum
        self.backbone = build_backbone(cfg, spec)
        self.views = AUGMENTATIONS.get(spec.modality)(cfg, spec)
        self.head = projection_head(self.backbone.encoder.dim, c.proj_hidden, c.proj_dim)
        self.key_backbone, self.key_head = ema_copy(self.backbone), ema_copy(self.head)
        self.objective = QueueInfoNCE(c.temperature)
        self.register_buffer("queue", F.normalize(torch.randn(c.queue_size, c.proj_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        b = x.shape[0]
        with torch.no_grad():
            views = torch.cat([self.views(x), self.views(x)])  # [2B, ...]
            ema_update(self.key_backbone, self.backbone, self.momentum)
            ema_update(self.key_head, self.head, self.momentum)
            keys = self.key_head(self.key_backbone(views))  # [2B, P]
        queries = self.head(self.backbone(views))
        a = self.objective(queries[:b], keys[b:], self.queue)
        c = self.objective(queries[b:], keys[:b], self.queue)
        self._enqueue(keys)
        loss = (a.loss + c.loss) / 2
        return LossOutput(
            loss, {"moco": float(loss.detach()), "pos_top1": (a.logs["pos_top1"] + c.logs["pos_top1"]) / 2}
        )

    @torch.no_grad()
    def _enqueue(self, keys: torch.Tensor) -> None:
        """Write the newest keys (from every rank) over the oldest, as a ring buffer."""
        keys = F.normalize(gather_with_grad(keys)[0], dim=1)
        size = self.queue.shape[0]
        idx = (self.queue_ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[idx[-size:]] = keys[-size:]
        self.queue_ptr.copy_((self.queue_ptr + len(keys)) % size)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each input and its query and key views, for the report."""
        x = batch[self.modality]
        return {"input": x, "query view": self.views(x), "key view": self.views(x)}
