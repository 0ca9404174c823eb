"""Use a pretrained maskfuse encoder inside your own PyTorch model and fine-tune it.

    python examples/encoder_in_torch_model.py [--tiny]

`maskfuse.load(run).backbone` is an ordinary `torch.nn.Module`: raw inputs in, a pooled
embedding out (`forward_features` gives the named outputs: tokens, pooled, cls, valid).
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import maskfuse


class Classifier(nn.Module):
    """The pretrained trunk and a new linear head."""

    def __init__(self, backbone: nn.Module, width: int, classes: int) -> None:
        super().__init__()
        self.backbone, self.head = backbone, nn.Linear(width, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def main(tiny: bool = False) -> float:
    size = ["train.steps=10", "model.dim=32", "model.depth=2", "model.heads=2", "decoder.dim=32"] if tiny else []
    cfg = maskfuse.resolve("mae", ["data.name=digits", "train.progress=false", *size])
    digits = load_digits()
    x = torch.tensor((digits.images / 16.0).astype(np.float32)[:, None])
    y = torch.tensor(digits.target)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = maskfuse.load(maskfuse.pretrain(cfg, f"{tmp}/run"))
    width = encoder.backbone(x[:1]).shape[1]
    model = Classifier(encoder.backbone, width, 10)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train, test = torch.arange(0, 1400), torch.arange(1400, len(x))
    model.train()
    for _ in range(1 if tiny else 10):  # epochs
        for batch in train[torch.randperm(len(train))].split(64):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x[test]).argmax(1) == y[test]).float().mean().item()
    print(f"fine-tuned on {len(train)} digits: test accuracy {100 * accuracy:.1f} % on {len(test)}")
    return accuracy


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a seconds-long run, for tests")
    main(ap.parse_args().tiny)
