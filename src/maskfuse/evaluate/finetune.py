"""Short end-to-end fine-tuning with a linear head: how far the encoder adapts."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol


@protocol("finetune", headline="top1", column="fine-tune", needs_backbone=True)
def evaluate_finetune(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    """Train a copy of the encoder plus a linear head for a few epochs; test accuracy."""
    torch.manual_seed(cfg.seed)
    backbone = copy.deepcopy(fs.backbone).train()
    num_classes = int(max(fs.train_labels.max(), fs.test_labels.max())) + 1
    head = nn.Linear(backbone.encoder.dim, num_classes)
    model = nn.Sequential(backbone, head)
    device = next(backbone.parameters()).device
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.finetune_lr, weight_decay=0.05)
    data, batch = fs.splits.train, 128
    steps = cfg.finetune_epochs * max(1, len(data) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.finetune_epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data) - batch + 1, batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(model(data.inputs[idx].to(device)), data.labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        test = fs.splits.test
        preds = torch.cat(
            [model(test.inputs[i : i + 512].to(device)).argmax(1).cpu() for i in range(0, len(test), 512)]
        )
    return {"top1": float((preds == test.labels).float().mean()), "epochs": cfg.finetune_epochs}
