"""Prediction heads for masked modeling, one per kind of token target.

A tokenizer picks its head with `target_head(in_dim, cfg)`, so a masked method never
knows whether it predicts pixels, values, categories or vocabulary ids. Every head
has `forward(h) -> pred`, `loss(pred, tokens, mask) -> LossOutput`,
`loss_of_hidden(h, tokens, mask)` (the same loss, predicting only what it counts) and
`per_token(pred, tokens) -> [B, N]` (the difficulty hard-patch mining ranks).
"""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.objectives.masked_tokens import MaskedTokenPrediction
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.types import LossOutput, Tokens


class PatchTarget(nn.Module):
    """A linear map to each token's target vector (pixels, values, spectrogram bins)."""

    def __init__(self, in_dim: int, patch_dim: int, loss: str = "mse") -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, patch_dim)
        self.objective = MaskedReconstruction(loss)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)

    def loss(self, pred: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.objective(pred, tokens.target, mask, tokens.valid)

    def loss_of_hidden(self, h: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.loss(self(h), tokens, mask)  # a linear map to a few values: cheap everywhere

    def per_token(self, pred: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        return (pred - tokens.target).pow(2).mean(-1)


class VocabTarget(nn.Module):
    """Logits over a vocabulary for each token; targets are ids in tokens.target[..., 0]."""

    def __init__(self, in_dim: int, vocab: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, vocab)
        self.objective = MaskedTokenPrediction()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)

    def loss(self, pred: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.objective(pred, tokens.target[..., 0].long(), mask & tokens.valid)

    def loss_of_hidden(self, h: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        """The loss with logits only at the counted positions: BERT's 15 % of the tokens, not
        all of them, go through the projection to the vocabulary and its softmax."""
        counted = mask & tokens.valid
        if not bool(counted.any()):
            return self.loss(self(h), tokens, mask)
        return self.objective.of_chosen(self.proj(h[counted]), tokens.target[..., 0].long()[counted])

    def per_token(self, pred: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        logp = pred.log_softmax(-1)
        return -logp.gather(-1, tokens.target[..., :1].long()).squeeze(-1)
