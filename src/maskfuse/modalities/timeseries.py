"""Multichannel time series as patches along time (PatchTST), of fixed or variable length."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.nn.targets import PatchTarget
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, Tokens


class SeriesTokenizer(nn.Module):
    """Cut [B, C, T] series into patches of `patch_len` steps and embed them linearly.

    Nie et al., "A Time Series is Worth 64 Words" (PatchTST), ICLR 2023.

    Channels are either `mixed` (one token per time patch, all channels concatenated:
    grid (T/p,)) or `independent` (one token per channel and time patch, one patch
    embedding shared by every channel: grid (C, T/p); the tube sampler with
    mask.tube_axis=0 then hides the same time patches in every channel).

    Shorter series are padded at the end with NaN; a token with no observed step is
    invalid. With `normalize="series"` every series is standardised per channel by
    its own observed mean and std (RevIN-style); targets are the normalised values and
    `decode` undoes the normalisation.
    """

    def __init__(
        self,
        channels: int,
        length: int,
        patch_len: int,
        dim: int,
        mode: str = "mixed",
        normalize: str = "series",
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        if patch_len < 1 or patch_len > length:
            raise ConfigError(f"series.patch_len={patch_len} must lie between 1 and the series length {length}")
        if mode not in ("mixed", "independent"):
            raise ConfigError(f"series.channels must be 'mixed' or 'independent', got {mode!r}")
        if normalize not in ("series", "dataset", "none"):
            raise ConfigError(f"series.normalize must be 'series', 'dataset' or 'none', got {normalize!r}")
        self.channels, self.length, self.patch, self.mode, self.normalize = channels, length, patch_len, mode, normalize
        steps = math.ceil(length / patch_len)
        self.padded = steps * patch_len
        self.grid = (steps,) if mode == "mixed" else (channels, steps)
        self.patch_dim = channels * patch_len if mode == "mixed" else patch_len
        self.proj = nn.Linear(self.patch_dim, dim)
        self.register_buffer("in_mean", torch.tensor(mean or [0.0] * channels).view(1, channels, 1))
        self.register_buffer("in_std", torch.tensor(std or [1.0] * channels).view(1, channels, 1))
        coords = grid_coords(*self.grid)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def _check(self, series: torch.Tensor) -> None:
        if series.dim() != 3 or series.shape[1] != self.channels or series.shape[2] != self.length:
            raise ValueError(f"series tokenizer expects [B, {self.channels}, {self.length}], got {list(series.shape)}")

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, N, P] (T padded with NaN to whole patches)."""
        b, c, t = x.shape
        x = nn.functional.pad(x, (0, self.padded - t), value=float("nan"))
        x = x.reshape(b, c, self.padded // self.patch, self.patch)  # [B, C, G, p]
        if self.mode == "mixed":
            return x.permute(0, 2, 1, 3).reshape(b, -1, c * self.patch)
        return x.reshape(b, -1, self.patch)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """[B, N, P] -> [B, C, T]."""
        b, c, p, g = patches.shape[0], self.channels, self.patch, self.padded // self.patch
        x = patches.reshape(b, g, c, p).permute(0, 2, 1, 3) if self.mode == "mixed" else patches.reshape(b, c, g, p)
        return x.reshape(b, c, self.padded)[..., : self.length]

    def statistics(self, series: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample, per-channel (mean, std) that `forward` normalises with, [B, C, 1] each."""
        if self.normalize == "dataset":
            return self.in_mean.expand(len(series), -1, -1), self.in_std.expand(len(series), -1, -1)
        if self.normalize == "none":
            return torch.zeros_like(series[..., :1]), torch.ones_like(series[..., :1])
        observed = ~torch.isnan(series)
        count = observed.sum(-1, keepdim=True).clamp_min(1)
        x = torch.where(observed, series, 0.0)
        mean = x.sum(-1, keepdim=True) / count
        var = (torch.where(observed, series - mean, 0.0) ** 2).sum(-1, keepdim=True) / count
        return mean, (var + 1e-5).sqrt()

    def forward(self, series: torch.Tensor) -> Tokens:
        self._check(series)
        mean, std = self.statistics(series)
        normed = (series - mean) / std
        patches = self.patchify(normed)  # NaN where padded
        observed = ~torch.isnan(patches)
        values = torch.where(observed, patches, 0.0)
        token_mean = self.patchify(mean.expand_as(series)).nan_to_num(0.0)
        token_std = self.patchify(std.expand_as(series)).nan_to_num(1.0)
        return Tokens(
            x=self.proj(values),
            pos=self.pos,
            coords=self.coords,
            valid=observed.any(-1),
            target=values,
            grid=self.grid,
            target_mean=token_mean,
            target_std=token_std,
        )

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PatchTarget:
        """Masked-modeling head: a linear map to the patch targets, cfg.loss (MSE or L1)."""
        return PatchTarget(in_dim, self.patch_dim, cfg.loss)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Per-token (normalised) values back to series [B, C, T] in the input's units."""
        if tokens is None or tokens.target_mean is None:
            raise ValueError("decoding series targets needs the Tokens they came from (for their scale)")
        return self.unpatchify(target * tokens.target_std + tokens.target_mean)

    def mask_input(self, series: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Series with masked patches set to NaN (drawn as gaps): mask [B, N] bool."""
        return self.unpatchify(self.patchify(series).masked_fill(mask.unsqueeze(-1), float("nan")))

    def raw_features(self, series: torch.Tensor) -> torch.Tensor:
        """The observed values flattened (padding as 0), [B, C*T]: the no-learning baseline."""
        return series.nan_to_num(0.0).reshape(len(series), -1)

    def pictures(self, series: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        """Input, masked input and reconstruction (predicted patches among the visible
        ones), each [B, C, T], for the report."""
        padded = torch.isnan(self.patchify(series))
        recon = torch.where(mask.unsqueeze(-1), self.patchify(self.decode(pred, tokens)), self.patchify(series))
        return {
            "input": series,
            "masked input": self.mask_input(series, mask),
            "reconstruction": self.unpatchify(recon.masked_fill(padded, float("nan"))),
        }


@MODALITIES.register("timeseries")
def build_series_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> SeriesTokenizer:
    channels, length = spec.shape
    s = cfg.series
    return SeriesTokenizer(channels, length, s.patch_len, dim, s.channels, s.normalize, spec.mean, spec.std)
