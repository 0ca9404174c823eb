"""Token sequences (text, code, item ids) as one token per vocabulary id."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import DataError
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.nn.targets import VocabTarget
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, Tokens


class TextTokenizer(nn.Module):
    """Id sequences [B, L] (padded with the [PAD] id) -> embedded tokens with sin-cos positions.

    The vocabulary (a `tokenizers` WordPiece / BPE / word-level model trained by the
    source, or the user's tokenizer.json) lives in the data spec, so a saved run reads
    new text exactly as in training. Targets are the ids themselves; the masked-modeling
    head predicts logits over the vocabulary (BERT's masked language modeling).
    """

    def __init__(self, meta: dict, length: int, dim: int) -> None:
        super().__init__()
        self.vocab_size, self.pad_id, self.mask_id = meta["vocab_size"], meta["pad_id"], meta["mask_id"]
        self.length = length
        self.grid, self.patch_dim = (length,), 1
        self.embed = nn.Embedding(self.vocab_size, dim)
        # unit scale, as the sin-cos positions: at BERT's 0.02 the words were 1/35 of each
        # token's input and a random-init encoder's pooled features carried almost nothing
        nn.init.normal_(self.embed.weight, std=1.0)
        coords = grid_coords(length)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def _ids(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2 or ids.shape[1] != self.length:
            raise ValueError(f"text tokenizer expects ids [B, {self.length}], got {list(ids.shape)}")
        return ids.long()

    def forward(self, ids: torch.Tensor) -> Tokens:
        ids = self._ids(ids)
        return Tokens(self.embed(ids), self.pos, self.coords, ids != self.pad_id, ids[..., None].float(), self.grid)

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> VocabTarget:
        return VocabTarget(in_dim, self.vocab_size)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Targets [B, L, 1] (or logits [B, L, V]) back to id sequences [B, L]."""
        return target.argmax(-1) if target.shape[-1] > 1 else target[..., 0].long()

    def _strip(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """Ids as a one-row picture [B, 1, 1, L]: a grey level per id, black padding,
        white hidden tokens (text has no natural picture; this shows where masks fall)."""
        level = 0.15 + 0.6 * (ids.float() * 0.6180339) % 1.0
        level = level.masked_fill(ids == self.pad_id, 0.0)
        if hidden is not None:
            level = level.masked_fill(hidden, 1.0)
        return level[:, None, None]

    def mask_input(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._strip(self._ids(ids), mask)

    def raw_features(self, ids: torch.Tensor) -> torch.Tensor:
        """L2-normalised bag of words [B, V] (padding not counted): the no-learning baseline."""
        ids = self._ids(ids)
        counts = torch.zeros(len(ids), self.vocab_size, device=ids.device)
        counts.scatter_add_(1, ids, (ids != self.pad_id).float())
        return nn.functional.normalize(counts, dim=1)

    def pictures(self, ids: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        ids = self._ids(ids)
        guess = torch.where(mask, pred.argmax(-1), ids)
        return {"input": self._strip(ids), "masked input": self._strip(ids, mask), "reconstruction": self._strip(guess)}


@MODALITIES.register("text")
def build_text_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> TextTokenizer:
    if "vocab_size" not in spec.meta:
        raise DataError("a text model needs its vocabulary in the data spec; re-create the run")
    return TextTokenizer(spec.meta, spec.shape[0], dim)
