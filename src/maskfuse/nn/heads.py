"""Small heads that methods put on top of the trunk."""

from __future__ import annotations

from torch import nn

from maskfuse.nn.block import init_weights


def projection_head(dim: int, hidden: int, out: int) -> nn.Sequential:
    """SimCLR's MLP projector: Linear -> BatchNorm -> ReLU -> Linear."""
    head = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out))
    head.apply(init_weights)
    return head
