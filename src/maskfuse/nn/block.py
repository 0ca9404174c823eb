"""Pre-norm transformer blocks on PyTorch's fused scaled-dot-product attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


class Attention(nn.Module):
    """Multi-head self-attention; padded keys are excluded through a boolean mask."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each [B, H, N, Dh]
        mask = None if key_valid is None else key_valid[:, None, None, :]  # [B, 1, 1, N]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """x + attn(norm(x)); x + mlp(norm(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, key_valid: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), key_valid)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """A stack of blocks and a final LayerNorm; used by encoders and decoders alike."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.checkpointing = False  # recompute each block's activations in backward (train.checkpointing)
        self.apply(init_weights)

    def _run(self, block: Block, x: torch.Tensor, key_valid: torch.Tensor | None) -> torch.Tensor:
        if self.checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(block, x, key_valid, use_reentrant=False)
        return block(x, key_valid)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        key_valid = key_mask(valid)
        for block in self.blocks:
            x = self._run(block, x, key_valid)
        return self.norm(x)

    def hidden_states(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every block's output passed through the final norm, [B, N, D] each (for probes)."""
        key_valid = key_mask(valid)
        states = []
        for block in self.blocks:
            x = self._run(block, x, key_valid)
            states.append(self.norm(x))
        return states


def configure_blocks(model: nn.Module, checkpointing: bool, compile: bool) -> None:
    """Speed and memory switches for every transformer in `model`: activation
    checkpointing (block activations recomputed in backward) and regional compilation
    (`torch.compile` of each block, compiled once per distinct block shape)."""
    for module in model.modules():
        if isinstance(module, Transformer):
            module.checkpointing = checkpointing
        if compile and isinstance(module, Block):
            module.compile()


def key_mask(valid: torch.Tensor | None) -> torch.Tensor | None:
    """The attention mask of `valid` tokens; None for a fully valid batch, for which SDPA takes
    its fastest path. Under torch.export that test would depend on the data, which export
    cannot trace, so the mask is kept there: the same result through the masked kernel."""
    if valid is None:
        return None
    if torch.compiler.is_exporting():
        return valid
    return None if bool(valid.all()) else valid


def init_weights(module: nn.Module) -> None:
    """MAE's init: xavier-uniform linears with zero bias, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
