"""Frozen features of a dataset: pooled embeddings of a backbone, or the raw inputs."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.data.base import ArrayDataset


@torch.no_grad()
def embed_dataset(backbone: nn.Module, data: ArrayDataset, batch_size: int = 512) -> torch.Tensor:
    """Pooled embeddings [N, D] on the CPU, with the backbone in eval mode."""
    device = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.eval()
    out = [backbone(data.inputs[i : i + batch_size].to(device)).cpu() for i in range(0, len(data), batch_size)]
    backbone.train(was_training)
    return torch.cat(out)


def raw_features(data: ArrayDataset) -> torch.Tensor:
    """The inputs flattened to [N, prod(shape)]: the no-learning baseline."""
    return data.inputs.reshape(len(data), -1)
