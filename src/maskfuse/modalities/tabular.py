"""Tables as one token per column (FT-Transformer's feature tokenizer)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import DataError
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.objectives.feature_reconstruction import FeatureReconstruction
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, LossOutput, Tokens


class FeatureTokenizer(nn.Module):
    """Rows [B, F] -> one token per column.

    Gorishniy et al., "Revisiting Deep Learning Models for Tabular Data" (FT-Transformer),
    NeurIPS 2021. A numeric column j becomes x_j * w_j + b_j after robust scaling
    ((x - median) / IQR, fitted on the training split); a categorical column holds
    category ids (as the sources encode them) and looks up its own embedding table; a
    missing cell (NaN) becomes the column's learned missing token. Targets are the
    scaled values or the category ids, NaN where missing (never counted).
    """

    def __init__(self, meta: dict, dim: int) -> None:
        super().__init__()
        enc = meta["encoding"]
        self.columns = list(enc["columns"])
        card = [len(enc["categories"].get(c, [])) if k == "categorical" else 0
                for c, k in zip(self.columns, enc["kinds"])]  # fmt: skip
        self.cardinality = card
        f = len(self.columns)
        self.grid, self.patch_dim = (f,), 1
        self.register_buffer("center", torch.tensor(meta["center"], dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(meta["scale"], dtype=torch.float32))
        self.register_buffer("categorical", torch.tensor([k > 0 for k in card]), persistent=False)
        offsets = torch.tensor([0] + card[:-1]).cumsum(0) if f else torch.zeros(0, dtype=torch.long)
        self.register_buffer("offsets", offsets, persistent=False)
        self.weight = nn.Parameter(torch.randn(f, dim) * 0.02)
        self.bias = nn.Parameter(torch.randn(f, dim) * 0.02)
        self.missing = nn.Parameter(torch.randn(f, dim) * 0.02)
        self.categories = nn.Embedding(max(1, sum(card)), dim)
        nn.init.normal_(self.categories.weight, std=0.02)
        coords = grid_coords(f)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def scaled(self, rows: torch.Tensor) -> torch.Tensor:
        """Numeric columns robust-scaled, categorical ids as they are; NaN stays NaN."""
        if rows.dim() != 2 or rows.shape[1] != len(self.columns):
            raise ValueError(f"table tokenizer expects rows [B, {len(self.columns)}], got {list(rows.shape)}")
        return torch.where(self.categorical, rows, (rows - self.center) / self.scale)

    def forward(self, rows: torch.Tensor) -> Tokens:
        values = self.scaled(rows)
        missing = torch.isnan(values)
        clean = values.nan_to_num(0.0)
        numeric = clean[..., None] * self.weight + self.bias  # [B, F, D]
        ids = (clean.long().clamp_min(0) + self.offsets).clamp(max=self.categories.num_embeddings - 1)
        x = torch.where(self.categorical[:, None], self.categories(ids), numeric)
        x = torch.where(missing[..., None], self.missing.expand_as(x), x)
        valid = torch.ones_like(missing)  # a missing cell is still a token (the missing token)
        return Tokens(x, self.pos, self.coords, valid, values[..., None], self.grid)

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> FeatureTarget:
        """Per-column heads: a value for numeric columns, logits for categorical ones."""
        return FeatureTarget(in_dim, self.cardinality)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Scaled values / ids [B, F, 1] back to rows [B, F] in the table's units."""
        t = target[..., 0]
        return torch.where(self.categorical, t, t * self.scale + self.center)

    def _picture(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled values, categories spread over [-1, 1], drawn as one line per row: [B, F]."""
        card = torch.tensor(self.cardinality, dtype=values.dtype, device=values.device)
        spread = 2 * values / (card - 1).clamp_min(1) - 1
        return torch.where(self.categorical, spread, values)

    def mask_input(self, rows: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._picture(self.scaled(rows).masked_fill(mask, float("nan")))

    def raw_features(self, rows: torch.Tensor) -> torch.Tensor:
        """Scaled numeric columns, one-hot categories, and a missing flag per column."""
        values = self.scaled(rows)
        missing = torch.isnan(values)
        parts = [torch.where(self.categorical | missing, 0.0, values), missing.float()]
        for j, k in enumerate(self.cardinality):
            if k:
                parts.append(
                    nn.functional.one_hot(values[:, j].nan_to_num(0).long().clamp(0, k - 1), k) * ~missing[:, j : j + 1]
                )
        return torch.cat([p.float() for p in parts], dim=1)

    def pictures(self, rows: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        best = torch.where(self.categorical, FeatureTarget.choices(pred, self.cardinality), pred[..., 0])
        values = self.scaled(rows)
        recon = torch.where(mask, best, values)
        return {"input": self._picture(values), "masked input": self.mask_input(rows, mask),
                "reconstruction": self._picture(recon)}  # fmt: skip


class FeatureTarget(nn.Module):
    """One linear head per column, [B, F, D] -> [B, F, max(1, K)], and its loss."""

    def __init__(self, in_dim: int, cardinality: list[int]) -> None:
        super().__init__()
        width = max([1, *cardinality])
        self.weight = nn.Parameter(torch.randn(len(cardinality), in_dim, width) * in_dim**-0.5)
        self.bias = nn.Parameter(torch.zeros(len(cardinality), width))
        self.objective = FeatureReconstruction(cardinality)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bfd,fdp->bfp", h, self.weight) + self.bias

    def loss(self, pred: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.objective(pred, tokens.target[..., 0], mask & tokens.valid)

    def loss_of_hidden(self, h: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.loss(self(h), tokens, mask)  # one small head per column: cheap everywhere

    def per_token(self, pred: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        return self.objective.per_cell(pred, tokens.target[..., 0])

    @staticmethod
    def choices(pred: torch.Tensor, cardinality: list[int]) -> torch.Tensor:
        """The most likely category id of every cell, [B, F] (0 for numeric columns)."""
        card = torch.tensor(cardinality, device=pred.device)
        allowed = torch.arange(pred.shape[-1], device=pred.device)[None] < card.clamp_min(1)[:, None]
        return pred.masked_fill(~allowed, float("-inf")).argmax(-1).to(pred.dtype)


@MODALITIES.register("table")
def build_table_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> FeatureTokenizer:
    if "encoding" not in spec.meta:
        raise DataError("a table model needs the column encoding in its data spec; re-create the run")
    return FeatureTokenizer(spec.meta, dim)
