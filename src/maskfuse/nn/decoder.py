"""MAE's light decoder: visible encodings plus mask tokens, back to every position."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import DecoderConfig
from maskfuse.masking.ops import merge
from maskfuse.nn.block import Transformer
from maskfuse.nn.pos import sincos
from maskfuse.types import MaskPlan


def sample_positions(coords: torch.Tensor, dim: int) -> torch.Tensor:
    """Sin-cos positions [B, N, dim] of per-sample coordinates [B, N, A]."""
    b, n, _ = coords.shape
    return sincos(coords.reshape(b * n, -1), dim).view(b, n, dim).to(coords.dtype)


class MaskedDecoder(nn.Module):
    """Project encoded visible tokens to the decoder width, put a learned mask token at
    every other position, add sin-cos positions, and run a small transformer.

    Args:
        in_dim: Width of the encoder.
        coords: Token coordinates [N, A] of the tokenizer, for the decoder's positions.
        cfg: Decoder width, depth and heads.
    """

    def __init__(self, in_dim: int, coords: torch.Tensor, cfg: DecoderConfig) -> None:
        super().__init__()
        self.dim = cfg.dim
        self.embed = nn.Linear(in_dim, cfg.dim)
        self.mask_token = nn.Parameter(torch.randn(cfg.dim) * 0.02)
        self.blocks = Transformer(cfg.dim, cfg.depth, cfg.heads)
        self.register_buffer("pos", sincos(coords, cfg.dim)[None], persistent=False)

    def forward(
        self, visible: torch.Tensor, plan: MaskPlan, valid: torch.Tensor, sample_coords: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decoder features [B, N, Dd] for every token from visible encodings [B, K, D];
        tokens with per-sample coordinates [B, N, A] (point groups) get sin-cos positions of
        those, so a mask token knows where the part it fills in lies."""
        full = merge(self.embed(visible), plan, self.mask_token)  # [B, N, Dd]
        pos = self.pos if sample_coords is None else sample_positions(sample_coords, self.dim)
        return self.blocks(full + pos, valid)

    def forward_dense(
        self,
        encoded: torch.Tensor,
        hidden: torch.Tensor,
        valid: torch.Tensor,
        context: torch.Tensor | None = None,
        context_valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decoder features [B, N, Dd] from encodings laid out at every position [B, N, D]
        (ignored where `hidden` [B, N] is True: those get the mask token), for plans whose
        visible count varies per row. `context` [B, C, D] (e.g. every modality's encoded
        tokens, MultiMAE's cross-modal decoding) joins the attention and is dropped after.
        """
        full = torch.where(hidden.unsqueeze(-1), self.mask_token.to(encoded.dtype), self.embed(encoded)) + self.pos
        if context is None:
            return self.blocks(full, valid)
        n = full.shape[1]
        h = self.blocks(torch.cat([full, self.embed(context)], 1), torch.cat([valid, context_valid], 1))
        return h[:, :n]
